import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Device, openDevice } from '@sm2ca/device';
import { decodeSm2Spki } from '@sm2ca/gm';
import { buildCsr, parseCertificate, parseCrl, sm2Verifier, verifyCrlSignature } from '@sm2ca/pki';
import { createLogger, type HttpServer, loadConfig, signInstruction } from '@sm2ca/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hsmSim } from '../../../packages/device/src/test-tokens.ts';
import { childEnv } from '../../../test/support/child-env.ts';
import { freePort } from '../../../test/support/free-port.ts';
import { createTestDatabase, type TestDatabase } from '../../../test/support/test-database.ts';
import { buildCaApp } from '../../ca/src/app.ts';
import { runKeyCeremony } from '../../ca/src/key-ceremony.ts';

const root = new URL('../../../', import.meta.url).pathname;
const ACCEPTANCE = { timeout: 60_000, interval: 250 };

interface Publisher {
  child: ChildProcess;
  url: string;
  output: string[];
}

/**
 * Two real publisher processes on one database and one hsm-sim token: one leads, the
 * leader is killed outright, the other takes over and carries the cRLNumber sequence on.
 */
describe('CRL publisher failover', () => {
  let db: TestDatabase & { drop(): Promise<void> };
  let device: Device;
  let ca: HttpServer;
  let env: NodeJS.ProcessEnv;
  const publishers: Publisher[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    const pin = randomBytes(8).toString('hex');
    const label = 'crl-failover';
    const tokenEnv = await hsmSim.createTokens([label], `${pin}so`, pin);
    env = childEnv({
      ...tokenEnv,
      DATABASE_URL: db.url,
      SM2CA_HOME: mkdtempSync(join(tmpdir(), 'crl-failover-')),
      SM2CA_DEVICE_MODULE: hsmSim.module,
      SM2CA_DEVICE_VENDOR: 'hsm-sim',
      SM2CA_DEVICE_PIN: pin,
      SM2CA_TOKEN_LABEL: label,
      SM2CA_CRL_INTERVAL_MINUTES: '1',
      SM2CA_CRL_DEBOUNCE_SECONDS: '0',
      LOG_LEVEL: 'info',
    });
    device = await openDevice({ module: hsmSim.module, vendor: 'hsm-sim', tokenLabel: label, pin });
    const config = loadConfig(env);
    await runKeyCeremony(db.pool, device, config);
    ca = await buildCaApp({
      config,
      log: createLogger('ca', { level: 'silent' }),
      db: { pool: db.pool, url: db.url, close: async () => {} },
      device,
    });
    await ca.ready();
  });
  afterAll(async () => {
    for (const { child } of publishers) child.kill('SIGKILL');
    await ca?.close();
    await device?.close();
    await db?.drop();
  });

  const startPublisher = async (): Promise<Publisher> => {
    const port = await freePort();
    const child = spawn(process.execPath, ['--import', 'tsx', `${root}services/crl/src/main.ts`], {
      env: { ...env, SM2CA_CRL_HOST: '127.0.0.1', SM2CA_CRL_PORT: String(port) },
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output: string[] = [];
    const keep = (chunk: Buffer) => {
      output.push(chunk.toString());
      if (output.length > 200) output.shift();
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const publisher = { child, url: `http://127.0.0.1:${port}`, output };
    publishers.push(publisher);
    return publisher;
  };
  const stats = (p: Publisher): Promise<{ publisher: { leader: boolean } } | undefined> =>
    fetch(`${p.url}/v1/stats`).then(
      (r) => (r.ok ? (r.json() as Promise<{ publisher: { leader: boolean } }>) : undefined),
      () => undefined,
    );
  const instruct = async (path: string, body: Record<string, unknown>) => {
    const { payload, headers } = await signInstruction(body, device.signer('ra'));
    const res = await ca.inject({ method: 'POST', url: path, payload, headers });
    expect(res.statusCode, res.body).toBe(200);
    return res.json();
  };
  const issue = async (n: number) => {
    const label = `failover-holder-${n}`;
    const publicKey = decodeSm2Spki(await device.generateKeyPair({ label, token: false }));
    const subject = [
      { type: 'C' as const, value: 'CN' },
      { type: 'CN' as const, value: label },
    ];
    const csr = Buffer.from(await buildCsr({ subject, publicKey }, device.signer(label))).toString('base64');
    return (
      await instruct('/v1/instructions/issue', { operation: 'issue', profile: 'person-sign', csr, subject })
    ).serial as string;
  };
  const revoke = (serial: string) =>
    instruct('/v1/instructions/revoke', {
      operation: 'revoke',
      issuerId: 'sub',
      serial,
      reason: 'keyCompromise',
    });
  const firstCrl = async (p: Publisher, serial: string) => {
    const res = await fetch(`${p.url}/v1/revocations/sub/${serial}/publication`).catch(() => undefined);
    if (!res?.ok) return undefined;
    const body = (await res.json()) as { revocations: { firstCrl?: { number: string } }[] };
    return body.revocations[0]?.firstCrl?.number;
  };
  const publisherOf = async (issuerId: string, number: string) =>
    (
      await db.pool.query('SELECT publisher FROM crls WHERE issuer_id = $1 AND crl_number = $2', [
        issuerId,
        number,
      ])
    ).rows[0].publisher as string;

  it('never publishes one cRLNumber twice; the successor carries the sequence on after a SIGKILL', async () => {
    const [first, second] = [await startPublisher(), await startPublisher()];
    const serials = [await issue(1), await issue(2)];
    try {
      await expect
        .poll(
          async () => (await Promise.all([stats(first!), stats(second!)])).map((s) => s?.publisher.leader),
          {
            timeout: 60_000,
            interval: 250,
          },
        )
        .toSatisfy(
          (leaders: unknown[]) =>
            leaders.filter((l) => l === true).length === 1 && !leaders.includes(undefined),
        );
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${first!.output.join('')}\n${second!.output.join('')}`);
    }
    const leaderIsFirst = (await stats(first!))?.publisher.leader === true;
    const [leader, follower] = leaderIsFirst ? [first!, second!] : [second!, first!];

    await revoke(serials[0]!);
    await expect.poll(() => firstCrl(follower, serials[0]!), ACCEPTANCE).toBeDefined();
    const before = await firstCrl(follower, serials[0]!);
    expect(await publisherOf('sub', before!)).toMatch(new RegExp(`:${leader.child.pid}$`));

    leader.child.kill('SIGKILL');
    await revoke(serials[1]!);
    await expect.poll(() => firstCrl(follower, serials[1]!), ACCEPTANCE).toBeDefined();
    const after = await firstCrl(follower, serials[1]!);
    expect(await publisherOf('sub', after!)).toMatch(new RegExp(`:${follower.child.pid}$`));
    expect((await stats(follower))?.publisher.leader).toBe(true);

    const { rows } = await db.pool.query(
      'SELECT issuer_id, crl_number, this_update, publisher, der FROM crls ORDER BY issuer_id, crl_number',
    );
    const spki = parseCertificate(
      (await db.pool.query("SELECT certificate FROM issuers WHERE id = 'sub'")).rows[0].certificate,
    ).spki;
    for (const issuerId of ['root', 'sub']) {
      const archived = rows.filter((r) => r.issuer_id === issuerId);
      expect(archived.map((r) => Number(r.crl_number))).toEqual(archived.map((_, i) => i + 1));
      for (let i = 1; i < archived.length; i++) {
        expect(archived[i].this_update.getTime()).toBeGreaterThanOrEqual(
          archived[i - 1].this_update.getTime(),
        );
      }
      expect(new Set(archived.map((r) => r.publisher)).size).toBe(2);
    }
    for (const row of rows.filter((r) => r.issuer_id === 'sub')) {
      const crl = parseCrl(row.der);
      expect(crl.crlNumber).toBe(BigInt(row.crl_number));
      expect(await verifyCrlSignature(crl, spki, sm2Verifier)).toBe(true);
    }
  });
});
