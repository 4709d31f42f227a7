import { existsSync } from 'node:fs';
import type { Pool } from '@sm2ca/store';
import { auditTrust, readChain, unchainedRecords } from './audit-chain-reader.ts';
import { type Checkpoint, checkpointFile, loadCheckpoints } from './audit-checkpoint.ts';
import { readCheckpointFile } from './audit-export.ts';
import { type AuditProblem, type VerifyReport, verifyAuditChain } from './audit-verifier.ts';

/** The same checkpoint from the table and from a file counts once. */
export function distinctCheckpoints(checkpoints: Checkpoint[]): Checkpoint[] {
  const seen = new Map<string, Checkpoint>();
  for (const c of checkpoints) seen.set(`${c.seq}/${c.head}/${c.at}/${c.issuerId}/${c.signature}`, c);
  return [...seen.values()].sort((a, b) => a.seq - b.seq);
}

export interface DatabaseVerification {
  report: VerifyReport;
  /** Records outside the chain that sort before its head: inserted afterwards. */
  strays: AuditProblem[];
  /** Records not sealed yet; not a problem, they wait for the sealer. */
  pending: number;
}

/**
 * The whole chain in the database from genesis, checked against the checkpoints in the table, in
 * the checkpoint file under `home` (a copy the database cannot rewrite) and any given.
 */
export async function verifyAuditDatabase(
  pool: Pool,
  options: { home: string; checkpoints?: Checkpoint[]; trustAnchors?: Uint8Array[] | undefined },
): Promise<DatabaseVerification> {
  const file = checkpointFile(options.home);
  const outside = existsSync(file) ? await readCheckpointFile(file) : [];
  const trust = await auditTrust(pool);
  const report = await verifyAuditChain({
    ...trust,
    trustAnchors: options.trustAnchors ?? trust.trustAnchors,
    checkpoints: distinctCheckpoints([
      ...(await loadCheckpoints(pool)),
      ...outside,
      ...(options.checkpoints ?? []),
    ]),
    links: readChain(pool),
    fromGenesis: true,
  });
  const { behind, pending } = await unchainedRecords(pool);
  const strays = behind.map((id) => ({
    auditId: id,
    message: `audit id ${id} sorts before the chain head but is not in the chain: inserted afterwards`,
  }));
  return { report, strays, pending };
}
