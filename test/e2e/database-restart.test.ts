import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/free-port.ts';
import { raOperators } from '../support/ra-client.ts';
import { type Stack, startStack } from '../support/sm2ca-stack.ts';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function poll(what: string, probe: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 900; i++) {
    if (await probe().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`gave up waiting for ${what}`);
}

/**
 * `sm2ca start` on its embedded PostgreSQL, the way a single host runs it: the database
 * process dies, the supervisor starts it again, and the services carry on without a restart.
 */
describe('sm2ca start when its embedded PostgreSQL is killed', () => {
  let stack: Stack;
  let operators: Awaited<ReturnType<typeof raOperators>>;

  beforeAll(async () => {
    stack = await startStack(undefined, { SM2CA_PG_PORT: String(await freePort()) }, ['ca', 'ra']);
    operators = await raOperators(stack);
  }, 180_000);
  afterAll(async () => {
    await stack?.stop();
    if (stack) await rm(stack.env.SM2CA_HOME!, { recursive: true, force: true });
  });

  const postmasterPid = () =>
    Number(readFileSync(join(stack.env.SM2CA_HOME!, 'pg', 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
  const ready = async () => (await fetch(`${stack.url.ra}/health/ready`)).ok;

  it('starts the database again; the RA, never restarted, becomes ready and serves from it', async () => {
    expect((await operators.ra('GET', '/v1/applications', 'clerk')).status).toBe(200);
    const killed = postmasterPid();
    process.kill(killed, 'SIGKILL');

    await poll('the RA to notice the outage', async () => !(await ready()));
    await poll('the RA to be ready again', ready);
    const restarted = postmasterPid();
    expect(restarted).not.toBe(killed);
    expect(isAlive(restarted)).toBe(true);
    expect(stack.output()).toMatch(
      new RegExp(
        `embedded PostgreSQL \\(pid ${killed}\\) had stopped; started it again \\(pid ${restarted}\\)`,
      ),
    );
    const after = await operators.ra('GET', '/v1/applications', 'clerk');
    expect(after.status).toBe(200);
    expect(stack.output()).not.toMatch(/\bra stopped/);

    await stack.stop();
    expect(isAlive(restarted)).toBe(false);
  }, 120_000);
});
