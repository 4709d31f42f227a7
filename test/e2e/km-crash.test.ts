import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Device } from '@sm2ca/device';
import { KmClient, loadConfig, openConfiguredDevice } from '@sm2ca/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childEnv } from '../support/child-env.ts';
import { freePort } from '../support/free-port.ts';
import { holderKey, taskNo, userCertNo } from '../support/km-test-bed.ts';
import { openEnvelopedKey } from '../support/open-enveloped-key.ts';
import { createTestDatabase } from '../support/test-database.ts';

const root = new URL('../../', import.meta.url).pathname;
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

interface Application {
  taskNo: string;
  holder: ReturnType<typeof holderKey>;
  item: { userCertNo: string; userPublicKey: Uint8Array; notBefore: Date; notAfter: Date };
}

/**
 * Kills the KM process with SIGKILL while key applications stream in — and while its pool filler
 * works — many times over. Taking a key is one statement, so no kill may hand one key to two
 * holders or lose an escrow; every application must be finishable by sending its task again, and
 * an application the KM acknowledged must keep the key it was given.
 */
describe('KM crash safety', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let env: NodeJS.ProcessEnv;
  let device: Device;
  let client: KmClient;
  let kmUrl: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    const port = await freePort();
    kmUrl = `http://127.0.0.1:${port}`;
    env = childEnv({
      DATABASE_URL: db.url,
      SM2CA_HOME: mkdtempSync(join(tmpdir(), 'km-crash-')),
      SM2CA_KM_PORT: String(port),
      // A small pool, so that the filler runs (and is killed) between the takes too.
      SM2CA_KM_POOL_SIZE: '16',
      SM2CA_KM_POOL_LOW_WATER: '8',
      LOG_LEVEL: 'silent',
    });
    await promisify(execFile)(process.execPath, [`${root}cli/bin/sm2ca.js`, 'init'], { env });
    device = await openConfiguredDevice(loadConfig(env));
    client = new KmClient({ url: kmUrl, caller: device.signer('ca-km'), pool: db.pool, verifier: device });
  }, 120_000);
  afterAll(async () => {
    await device?.close();
    await db?.drop();
    if (env?.SM2CA_HOME) await rm(env.SM2CA_HOME, { recursive: true, force: true });
  });

  const startKm = async (): Promise<ChildProcess> => {
    const child = spawn(process.execPath, ['--import', 'tsx', `${root}services/km/src/main.ts`], {
      env,
      cwd: root,
      stdio: 'ignore',
    });
    for (let i = 0; i < 300; i++) {
      const up = await fetch(`${kmUrl}/health/ready`).then(
        (r) => r.ok,
        () => false,
      );
      if (up) return child;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('KM did not start');
  };

  const application = (): Application => {
    const holder = holderKey();
    const notBefore = new Date();
    return {
      taskNo: taskNo(),
      holder,
      item: {
        userCertNo: userCertNo(),
        userPublicKey: holder.spki,
        notBefore,
        notAfter: new Date(notBefore.getTime() + 365 * 86_400_000),
      },
    };
  };
  const apply = (a: Application) => client.applyKey(a.taskNo, 'sub', a.item);

  const escrowed = async () =>
    (await db.pool.query("SELECT count(*)::int AS n FROM km_keys WHERE state <> 'pooled'")).rows[0]
      .n as number;
  const untilEscrowedAbove = async (before: number, limitMs: number) => {
    const until = Date.now() + limitMs;
    while (Date.now() < until && (await escrowed()) <= before) {
      await new Promise((r) => setTimeout(r, 2));
    }
  };

  it('never gives a key to two holders, loses no escrow and finishes every application after repeated SIGKILLs', async () => {
    const sent: Application[] = [];
    const acknowledged = new Map<string, string>();
    let interrupted = 0;
    for (let round = 0; round < 8; round++) {
      const km = await startKm();
      const exited = new Promise((r) => km.once('exit', r));
      const batch = Array.from({ length: 24 }, application);
      sent.push(...batch);
      const before = await escrowed();
      const inFlight = batch.map((a) =>
        apply(a).then(
          (answer) => acknowledged.set(a.taskNo, hex(answer.publicKey)),
          () => {
            interrupted++;
          },
        ),
      );
      // Kill while keys are being taken, not after a fixed delay a loaded machine would overshoot.
      await untilEscrowedAbove(before, 2_000);
      await new Promise((r) => setTimeout(r, Math.random() * 30));
      km.kill('SIGKILL');
      await Promise.all(inFlight);
      await exited;
    }
    // The kills must have cut applications short, some of them after their key was taken.
    expect(interrupted).toBeGreaterThan(0);
    const recorded = await db.pool.query('SELECT task_no FROM km_requests');
    expect(recorded.rows.filter((r) => !acknowledged.has(r.task_no)).length).toBeGreaterThan(0);

    const km = await startKm();
    try {
      const keys = new Map<string, string>();
      const answers = new Map<string, Awaited<ReturnType<typeof apply>>>();
      for (let i = 0; i < sent.length; i += 16) {
        const chunk = sent.slice(i, i + 16);
        const done = await Promise.all(chunk.map(apply));
        for (const [j, a] of chunk.entries()) answers.set(a.taskNo, done[j]!);
      }
      for (const a of sent) {
        const answer = answers.get(a.taskNo)!;
        const key = hex(answer.publicKey);
        // What the holder opens is the escrowed key, whichever answer they got.
        expect(key).toContain(openEnvelopedKey(answer.envelopedKey, a.holder.privateKeyHex).publicKeyHex);
        const first = acknowledged.get(a.taskNo);
        if (first) expect(key, a.taskNo).toBe(first);
        keys.set(a.taskNo, key);
      }
      expect(new Set(keys.values()).size).toBe(sent.length);
      const { rows } = await db.pool.query(
        `SELECT taken_task_no, encode(public_key, 'hex') AS key, state FROM km_keys WHERE state <> 'pooled'`,
      );
      expect(rows).toHaveLength(sent.length);
      for (const row of rows) {
        expect(row.state).toBe('current');
        expect(keys.get(row.taken_task_no)).toBe(row.key);
      }
      const ledger = await db.pool.query('SELECT count(*)::int AS n FROM km_requests WHERE response IS NULL');
      expect(ledger.rows[0].n).toBe(0);
      const escrowAudit = await db.pool.query(
        "SELECT count(*)::int AS n FROM audit_log WHERE action = 'km.key.escrow'",
      );
      expect(escrowAudit.rows[0].n).toBe(sent.length);
    } finally {
      km.kill('SIGTERM');
      await new Promise((r) => km.once('exit', r));
    }
  }, 300_000);
});
