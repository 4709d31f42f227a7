import type { AddressInfo } from 'node:net';
import { addOperator, type Config, loadConfig } from '@sm2ca/platform';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { useRaTestBed } from '../../../services/ra/src/test-support/ra-test-bed.ts';
import { runCommand } from '../../../test/support/cli-command.ts';
import { registerAuditCommands } from './audit.ts';

/** The month `offset` months from the current one, in China Standard Time. */
function monthFromNow(offset: number): string {
  const here = new Date(Date.now() + 8 * 3600_000);
  const index = here.getUTCFullYear() * 12 + here.getUTCMonth() + offset;
  return `${Math.floor(index / 12)}-${String((index % 12) + 1).padStart(2, '0')}`;
}

describe('sm2ca audit settings / archive / archives, over the RA API', () => {
  const bed = useRaTestBed();
  let config: Config;
  const credentials: Record<'auditAdmin' | 'auditor', string> = { auditAdmin: '', auditor: '' };

  beforeAll(async () => {
    await bed.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = bed.app.server.address() as AddressInfo;
    config = loadConfig({ SM2CA_HOME: bed.home, SM2CA_RA_HOST: '127.0.0.1', SM2CA_RA_PORT: String(port) });
    const cli = { name: 'cli', role: 'key_ceremony' };
    for (const [who, role] of [
      ['auditAdmin', 'audit_admin'],
      ['auditor', 'auditor'],
    ] as const) {
      const added = await addOperator(bed.pool, cli, {
        name: `cli-${who}`,
        identity: `cli-${who}`,
        roles: [role],
      });
      credentials[who] = added.credential;
    }
  });
  afterAll(() => vi.unstubAllEnvs());

  const run = (as: keyof typeof credentials, ...args: string[]) => {
    vi.stubEnv('SM2CA_OPERATOR_CREDENTIAL', credentials[as]);
    return runCommand(
      (program) =>
        registerAuditCommands(program, {
          config: () => config,
          database: () => Promise.reject(new Error('these commands go through the RA')),
          device: () => Promise.reject(new Error('these commands go through the RA')),
        }),
      ['audit', ...args],
    );
  };

  it('changes one setting as the audit admin, keeping the others, and refuses the auditor', async () => {
    const changed = JSON.parse(await run('auditAdmin', 'settings', '--retention-years', '12'));
    expect(changed).toMatchObject({ retentionYears: 12, archiveAfterDays: 1, changedBy: 'cli-auditAdmin' });
    expect(JSON.parse(await run('auditor', 'settings'))).toMatchObject({ retentionYears: 12 });
    await expect(run('auditor', 'settings', '--retention-years', '11')).rejects.toMatchObject({
      code: 'ROLE_FORBIDDEN',
    });
  });

  it('archives a closed month as the audit admin and lists it for the auditor', async () => {
    const month = monthFromNow(-2);
    const archive = JSON.parse(await run('auditAdmin', 'archive', '--month', month));
    expect(archive).toMatchObject({ month, file: `audit/archive/${month}.jsonl`, records: 0 });
    const lines = (await run('auditor', 'archives')).trim().split('\n');
    expect(lines.map((line) => JSON.parse(line))).toEqual([archive]);
    await expect(run('auditAdmin', 'archive', '--month', month)).rejects.toMatchObject({
      code: 'AUDIT_MONTH_ARCHIVED',
    });
    await expect(run('auditor', 'archive', '--month', monthFromNow(-4))).rejects.toMatchObject({
      code: 'ROLE_FORBIDDEN',
    });
  });
});
