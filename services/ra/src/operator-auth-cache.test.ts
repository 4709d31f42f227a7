import { describe, expect, it } from 'vitest';
import { useRaTestBed } from './test-support/ra-test-bed.ts';

describe('the RA remembering authenticated operators', () => {
  const bed = useRaTestBed();
  const status = async (who: 'clerk' | 'reviewer') =>
    (await bed.call(who, 'GET', '/v1/applications')).statusCode;
  /** The status once it is no longer 200, asked again and again for at most `ms`. */
  const refusedWithin = async (who: 'clerk' | 'reviewer', ms: number) => {
    const deadline = performance.now() + ms;
    let answer = await status(who);
    while (answer === 200 && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      answer = await status(who);
    }
    return answer;
  };

  it('forgets an operator disabled or a role taken by another process at once, not after its ten seconds', async () => {
    // The cache keeps answers only while this connection hears the database's notifications.
    const { rows } = await bed.pool.query(
      "SELECT 1 FROM pg_stat_activity WHERE application_name = 'sm2ca-ra-operator-auth'",
    );
    expect(rows).toHaveLength(1);
    expect(await status('clerk')).toBe(200);
    expect(await status('clerk')).toBe(200);
    await bed.pool.query('UPDATE operators SET disabled_at = now() WHERE id = $1', [bed.ids.clerk]);
    expect(await refusedWithin('clerk', 3000)).toBe(401);

    expect(await status('reviewer')).toBe(200);
    await bed.pool.query("DELETE FROM operator_roles WHERE operator_id = $1 AND role = 'reviewer'", [
      bed.ids.reviewer,
    ]);
    expect(await refusedWithin('reviewer', 3000)).toBe(403);
  });
});
