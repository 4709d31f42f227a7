import type { Pool } from '@sm2ca/store';

export const escrowStates = ['current', 'revoked', 'expired', 'archived'] as const;

export interface KmStatus {
  pooled: number;
  escrows: Record<(typeof escrowStates)[number], number>;
}

/** What `sm2ca km status` shows: the pool level and the escrows by state. */
export async function kmStatus(pool: Pool): Promise<KmStatus> {
  const { rows } = await pool.query('SELECT state, count(*)::int AS n FROM km_keys GROUP BY state');
  const count = (state: string) => (rows.find((row) => row.state === state)?.n as number | undefined) ?? 0;
  return {
    pooled: count('pooled'),
    escrows: Object.fromEntries(escrowStates.map((state) => [state, count(state)])) as KmStatus['escrows'],
  };
}
