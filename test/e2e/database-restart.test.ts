import { mkdtempSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildOcspCertId,
  buildOcspRequest,
  parseCertificate,
  parseCrl,
  parseOcspResponse,
  publicKeyOfSpki,
} from '@sm2ca/pki';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/free-port.ts';
import { opensslHolderCsr } from '../support/openssl-cli.ts';
import { isAlive } from '../support/process-alive.ts';
import { raOperators } from '../support/ra-client.ts';
import { type Stack, startStack } from '../support/sm2ca-stack.ts';

async function poll(what: string, probe: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 900; i++) {
    if (await probe().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`gave up waiting for ${what}`);
}

/**
 * `sm2ca start` on its embedded PostgreSQL, the way a single host runs it: the database
 * process dies, the supervisor starts it again, and the services carry on without a restart,
 * their LISTENing background work included.
 */
describe('sm2ca start when its embedded PostgreSQL is killed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'e2e-pg-restart-'));
  let stack: Stack;
  let operators: Awaited<ReturnType<typeof raOperators>>;
  let leaf: { issuerId: string; serial: string };
  let issuer: { subjectDer: Uint8Array; publicKey: ReturnType<typeof publicKeyOfSpki> };

  beforeAll(async () => {
    stack = await startStack(undefined, { SM2CA_PG_PORT: String(await freePort()) });
    operators = await raOperators(stack);
    leaf = await operators.issue(opensslHolderCsr(dir, 'holder', '/C=CN/CN=Restart Holder'), {
      commonName: '赵六',
      identity: { residentId: '11010519491231002X' },
    });
    const der = Buffer.from(await (await fetch(`${stack.url.crl}/ca/${leaf.issuerId}.cer`)).arrayBuffer());
    const parsed = parseCertificate(der);
    issuer = { subjectDer: parsed.subject, publicKey: publicKeyOfSpki(parsed.spki) };
  }, 240_000);
  afterAll(async () => {
    await stack?.stop();
    if (stack) await rm(stack.env.SM2CA_HOME!, { recursive: true, force: true });
    await rm(dir, { recursive: true, force: true });
  });

  const postmasterPid = () =>
    Number(readFileSync(join(stack.env.SM2CA_HOME!, 'pg', 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
  const ready = (base: string) => async () => (await fetch(`${base}/health/ready`)).ok;
  const ocspStatus = async () => {
    const request = buildOcspRequest([buildOcspCertId(issuer, BigInt(`0x${leaf.serial}`)).der]);
    const res = await fetch(`${stack.url.ocsp}/ocsp`, {
      method: 'POST',
      headers: { 'content-type': 'application/ocsp-request' },
      body: request,
    });
    const answer = parseOcspResponse(Buffer.from(await res.arrayBuffer()));
    return answer.status === 'successful' ? answer.basic.responses[0]!.certStatus.status : answer.status;
  };
  const onCrl = async () => {
    const res = await fetch(`${stack.url.crl}/crl/${leaf.issuerId}.crl`);
    if (!res.ok) return false;
    const serial = BigInt(`0x${leaf.serial}`);
    for (const entry of parseCrl(Buffer.from(await res.arrayBuffer())).entries()) {
      if (entry.serial === serial) return true;
    }
    return false;
  };

  it('starts the database again; the services, never restarted, become ready and follow new revocations', async () => {
    expect(await ocspStatus()).toBe('good');
    const killed = postmasterPid();
    process.kill(killed, 'SIGKILL');

    await poll('the RA to notice the outage', async () => !(await ready(stack.url.ra)()));
    for (const base of Object.values(stack.url)) await poll(`${base} to be ready again`, ready(base));
    const restarted = postmasterPid();
    expect(restarted).not.toBe(killed);
    expect(stack.output()).toMatch(
      new RegExp(
        `embedded PostgreSQL \\(pid ${killed}\\) had stopped; started it again \\(pid ${restarted}\\)`,
      ),
    );

    // Served from the restarted database; OCSP and CRL hear of it only through their reconnected LISTEN.
    await operators.revoke(leaf.issuerId, leaf.serial, 'keyCompromise');
    await poll('OCSP to answer revoked', async () => (await ocspStatus()) === 'revoked');
    await poll('a CRL listing the revocation', onCrl);
    expect(stack.output()).not.toMatch(/\b(ca|ra|ocsp|crl) stopped/);

    await stack.stop();
    expect(isAlive(restarted)).toBe(false);
  }, 180_000);
});
