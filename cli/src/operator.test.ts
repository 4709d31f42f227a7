import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, stackSuperAdmin, startStack } from '../../test/support/sm2ca-stack.ts';
import { addStackOperator } from '../../test/support/stack-operators.ts';
import { createTestDatabase } from '../../test/support/test-database.ts';

describe('sm2ca operator: a client of the RA admin API under an administrator credential', () => {
  let stack: Stack;
  let drop: () => Promise<void>;
  const as = (credential: string | undefined, args: string[]) =>
    stack.cli(['operator', ...args], { SM2CA_OPERATOR_CREDENTIAL: credential ?? '' });

  beforeAll(async () => {
    const db = await createTestDatabase();
    drop = db.drop;
    stack = await startStack(db.url, {}, ['ra']);
  }, 180_000);
  afterAll(async () => {
    await stack?.stop();
    await drop?.();
  });

  it('takes the first super admin from the key ceremony, once', async () => {
    expect(stack.superAdmin).toMatch(/^sm2op_/);
    const again = await stack.cli(['init', '--super-admin', 'intruder', '--super-admin-identity', 'x-1']);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain('has a super admin already');
    expect(again.stdout).not.toContain('sm2op_');
    const list = await as(stack.superAdmin, ['list']);
    expect(list.stdout).toContain(`${stackSuperAdmin}\t${stackSuperAdmin}-0001\tsuper-admin\tactive`);
    expect(list.stdout).not.toContain('intruder');
  }, 180_000);

  it('needs an administrator credential: shell access alone adds nobody', async () => {
    const add = ['add', '--name', 'shell user', '--identity', 'shell-1', '--role', 'reviewer'];
    const none = await as(undefined, add);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/SM2CA_OPERATOR_CREDENTIAL.*\[OPERATOR_CREDENTIAL_REQUIRED\]/);
    const forged = await as('sm2op_forged', add);
    expect(forged.stderr).toContain('[AUTH_INVALID]');
    const clerk = await addStackOperator(stack, 'cli-clerk', ['entry-clerk', 'certificate-maker']);
    const byClerk = await as(clerk, add);
    expect(byClerk.code).toBe(1);
    expect(byClerk.stderr).toContain('[ROLE_FORBIDDEN]');
    const clash = await as(stack.superAdmin, [
      'add',
      '--name',
      'both',
      '--identity',
      'both-1',
      '--role',
      'entry-clerk',
      'reviewer',
    ]);
    expect(clash.stderr).toContain('[ROLES_INCOMPATIBLE]');
  }, 180_000);

  it('grants a role change only with a second administrator, rotates and disables', async () => {
    const second = await addStackOperator(stack, 'second admin', ['super-admin']);
    await addStackOperator(stack, 'cli-reviewer', ['reviewer']);
    const grant = await as(stack.superAdmin, [
      'grant',
      'cli-reviewer',
      '--role',
      'reviewer',
      'certificate-maker',
    ]);
    expect(grant.code, grant.stderr).toBe(0);
    const change = grant.stdout.trim();
    expect(grant.stderr).toContain(`sm2ca operator approve ${change}`);
    expect((await as(stack.superAdmin, ['changes'])).stdout).toContain(`role change ${change}`);
    const own = await as(stack.superAdmin, ['approve', change]);
    expect(own.stderr).toContain('[ROLE_CHANGE_SAME_ADMINISTRATOR]');
    const approved = await as(second, ['approve', change]);
    expect(approved.stdout).toContain('reviewer, certificate-maker (approved)');
    expect((await as(stack.superAdmin, ['list'])).stdout).toMatch(
      /cli-reviewer\tstaff-cli-reviewer\treviewer,certificate-maker\tactive/,
    );

    const rotated = await as(second, ['rotate', 'cli-reviewer']);
    expect(rotated.stdout.trim()).toMatch(/^sm2op_/);
    const disabled = await as(second, ['disable', 'cli-reviewer']);
    expect(disabled.stdout).toMatch(/^disabled cli-reviewer/);
    expect((await as(rotated.stdout.trim(), ['list'])).stderr).toContain('[AUTH_INVALID]');
  }, 300_000);
});
