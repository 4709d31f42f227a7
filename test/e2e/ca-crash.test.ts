import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Device } from '@sm2ca/device';
import { decodeSm2Spki } from '@sm2ca/gm';
import { buildCsr, parseCertificate, sm2Verifier } from '@sm2ca/pki';
import { loadConfig, openConfiguredDevice, signInstruction } from '@sm2ca/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childEnv } from '../support/child-env.ts';
import { freePort } from '../support/free-port.ts';
import { createTestDatabase } from '../support/test-database.ts';

const root = new URL('../../', import.meta.url).pathname;

/**
 * Kills the CA process with SIGKILL at random moments while instructions
 * stream in, many times over. The plan-before-sign design must leave no
 * duplicated serial, no request with two certificates, and every request
 * finishable by sending it again.
 */
describe('CA crash safety', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let env: NodeJS.ProcessEnv;
  let device: Device;
  let caUrl: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    const port = await freePort();
    caUrl = `http://127.0.0.1:${port}`;
    env = childEnv({
      DATABASE_URL: db.url,
      SM2CA_HOME: mkdtempSync(join(tmpdir(), 'ca-crash-')),
      SM2CA_CA_PORT: String(port),
      LOG_LEVEL: 'silent',
    });
    await promisify(execFile)(process.execPath, [`${root}cli/bin/sm2ca.js`, 'init'], { env });
    device = await openConfiguredDevice(loadConfig(env));
  }, 120_000);
  afterAll(async () => {
    await device?.close();
    await db?.drop();
  });

  const startCa = async (): Promise<ChildProcess> => {
    const child = spawn(process.execPath, ['--import', 'tsx', `${root}services/ca/src/main.ts`], {
      env,
      cwd: root,
      stdio: 'ignore',
    });
    for (let i = 0; i < 300; i++) {
      const up = await fetch(`${caUrl}/health/ready`).then(
        (r) => r.ok,
        () => false,
      );
      if (up) return child;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('CA did not start');
  };

  let holders = 0;
  const instruction = async () => {
    const label = `crash-holder-${++holders}`;
    const publicKey = decodeSm2Spki(await device.generateKeyPair({ label, token: false }));
    const csr = await buildCsr(
      {
        subject: [
          { type: 'C', value: 'CN' },
          { type: 'CN', value: label },
        ],
        publicKey,
      },
      device.signer(label),
    );
    return {
      requestId: randomUUID(),
      operation: 'issue',
      profile: 'device-sign',
      csr: Buffer.from(csr).toString('base64'),
      subject: [
        { type: 'C', value: 'CN' },
        { type: 'O', value: 'Crash Test' },
        { type: 'CN', value: label },
      ],
    };
  };

  const send = async (body: Record<string, unknown>) => {
    const { payload, headers } = await signInstruction(body, device.signer('ra'));
    const res = await fetch(`${caUrl}/v1/instructions/issue`, { method: 'POST', headers, body: payload });
    return { status: res.status, body: (await res.json()) as { serial?: string; certificate?: string } };
  };

  const plannedCount = async () =>
    (await db.pool.query("SELECT count(*)::int AS n FROM certificates WHERE status = 'planned'")).rows[0]
      .n as number;
  const untilPlannedAbove = async (before: number, limitMs: number) => {
    const until = Date.now() + limitMs;
    while (Date.now() < until && (await plannedCount()) <= before) {
      await new Promise((r) => setTimeout(r, 2));
    }
  };

  it('never duplicates a serial and finishes every request after repeated SIGKILLs', async () => {
    const sent: Record<string, unknown>[] = [];
    let plannedAtKill = 0;
    for (let round = 0; round < 12; round++) {
      const ca = await startCa();
      const exited = new Promise((r) => ca.once('exit', r));
      const bodies = await Promise.all(Array.from({ length: 24 }, instruction));
      sent.push(...bodies);
      const before = await plannedCount();
      const inFlight = bodies.map((b) => send(b).catch(() => undefined));
      // Kill inside the window this test is about (a serial planned, its certificate not yet
      // signed) rather than after a fixed delay, which a loaded machine can overshoot or undershoot.
      await untilPlannedAbove(before, 2_000);
      await new Promise((r) => setTimeout(r, Math.random() * 30));
      ca.kill('SIGKILL');
      await Promise.all(inFlight);
      await exited;
      plannedAtKill = Math.max(plannedAtKill, await plannedCount());
    }
    // The kills must have hit the window this test is about.
    expect(plannedAtKill).toBeGreaterThan(0);

    const ca = await startCa();
    try {
      const serials = new Map<string, string>();
      for (const body of sent) {
        const answer = await send(body);
        expect(answer.status).toBe(200);
        const certificate = parseCertificate(Buffer.from(answer.body.certificate!, 'base64'));
        expect(Buffer.from(certificate.serialNumber).toString('hex')).toBe(answer.body.serial);
        const sub = await db.pool.query("SELECT certificate FROM issuers WHERE id = 'sub'");
        const issuer = parseCertificate(sub.rows[0].certificate);
        expect(await sm2Verifier.verify(issuer.spki, certificate.tbs, certificate.signature)).toBe(true);
        serials.set(body.requestId as string, answer.body.serial!);
      }
      expect(new Set(serials.values()).size).toBe(sent.length);
      const perRequest = await db.pool.query(
        "SELECT request_id FROM certificates WHERE request_id NOT LIKE 'ceremony:%' GROUP BY request_id HAVING count(*) > 1",
      );
      expect(perRequest.rows).toEqual([]);
      const leftPlanned = await db.pool.query(
        "SELECT count(*)::int AS n FROM certificates WHERE status = 'planned'",
      );
      expect(leftPlanned.rows[0].n).toBe(0);
      const stored = await db.pool.query(
        "SELECT request_id, serial FROM certificates WHERE request_id NOT LIKE 'ceremony:%'",
      );
      for (const row of stored.rows) expect(serials.get(row.request_id)).toBe(row.serial);
    } finally {
      ca.kill('SIGTERM');
    }
  }, 300_000);
});
