import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runKeyCeremony } from '@sm2ca/ca';
import { type Device, openDevice } from '@sm2ca/device';
import {
  AUDIT_RECORD_COLUMNS,
  auditRecordFromRow,
  type Config,
  chainHash,
  checkpointFile,
  checkpointStatement,
  loadConfig,
  recordAudit,
  sealAuditRecords,
} from '@sm2ca/platform';
import { withTransaction } from '@sm2ca/store';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hsmSim, tokenConfig } from '../../../packages/device/src/test-tokens.ts';
import { runCommand } from '../../../test/support/cli-command.ts';
import { createTestDatabase, type TestDatabase } from '../../../test/support/test-database.ts';
import { registerAuditCommands } from './audit.ts';

const pin = randomBytes(8).toString('hex');
let tokenDir: string;
let device: Device;
let config: Config;
let db: TestDatabase & { drop(): Promise<void> };
const RECORDS = 20;

const run = (...args: string[]) =>
  runCommand(
    (program) =>
      registerAuditCommands(program, {
        config: () => config,
        database: async () => ({ pool: db.pool, url: db.url, close: async () => {} }),
        device: async () => tokenConfig(hsmSim, 'audit-test', pin),
      }),
    args,
  );

/** Runs the command and answers what it printed and how it failed, if it did. */
async function attempt(...args: string[]): Promise<{ out: string; error?: string }> {
  let out = '';
  try {
    out = await run(...args);
    return { out };
  } catch (err) {
    return { out, error: (err as Error).message };
  }
}

/** As a superuser who switched the triggers off: what the chain and the checkpoints are there to reveal. */
async function tamper(...statements: [string, unknown[]?][]): Promise<void> {
  const client = await db.pool.connect();
  try {
    await client.query("SET session_replication_role = 'replica'");
    for (const [sql, params] of statements) await client.query(sql, params);
    await client.query("SET session_replication_role = 'origin'");
  } finally {
    client.release();
  }
}

const seqOf = async (subjectId: string) => {
  const { rows } = await db.pool.query(
    `SELECT c.seq::int AS seq, c.audit_id::text AS id FROM audit_chain c JOIN audit_log a ON a.id = c.audit_id
      WHERE a.subject_type = 'test' AND a.subject_id = $1`,
    [subjectId],
  );
  return rows[0] as { seq: number; id: string };
};

/** A CA whose audit trail holds the ceremony's records, RECORDS more and a checkpoint over them all. */
async function freshTrail(): Promise<void> {
  db = await createTestDatabase();
  await runKeyCeremony(db.pool, device, config);
  for (let i = 1; i <= RECORDS; i++) {
    await withTransaction(db.pool, (client) =>
      recordAudit(
        client,
        { name: `operator-${i % 3}`, role: 'reviewer' },
        {
          action: 'test.step',
          subjectType: 'test',
          subjectId: `r${i}`,
          before: null,
          after: { i, note: '审计' },
        },
      ),
    );
  }
  await run('audit', 'checkpoint');
}

beforeAll(async () => {
  ({ HSMSIM_DIR: tokenDir } = (await hsmSim.createTokens(['audit-test'], `${pin}so`, pin)) as {
    HSMSIM_DIR: string;
  });
  device = await openDevice(tokenConfig(hsmSim, 'audit-test', pin));
  config = loadConfig({ SM2CA_HOME: mkdtempSync(join(tmpdir(), 'audit-test-home-')) });
});

afterAll(async () => {
  await device?.close();
  rmSync(tokenDir, { recursive: true, force: true });
  rmSync(config.home, { recursive: true, force: true });
});

describe.skipIf(!hsmSim.available)('sm2ca audit', () => {
  afterEach(async () => {
    await db?.drop();
    rmSync(checkpointFile(config.home), { force: true });
  });

  it('verifies an untouched trail, and its export offline', async () => {
    await freshTrail();
    expect(readFileSync(checkpointFile(config.home), 'utf8')).toMatch(/^\{"type":"checkpoint","seq":\d+/);
    const { out, error } = await attempt('audit', 'verify');
    expect(error).toBeUndefined();
    expect(out).toContain('audit trail verified');
    expect(out).toMatch(/1 signed checkpoints matched/);

    const exported = await run(
      'audit',
      'export',
      '--from',
      '2000-01-01T00:00:00Z',
      '--to',
      '2999-01-01T00:00:00Z',
    );
    const dir = mkdtempSync(join(tmpdir(), 'audit-export-'));
    try {
      const file = join(dir, 'export.jsonl');
      writeFileSync(file, exported);
      const lines = exported.trim().split('\n');
      expect(lines.filter((l) => l.includes('"type":"record"')).length).toBeGreaterThanOrEqual(RECORDS);
      expect((await attempt('audit', 'verify', '--file', file)).error).toBeUndefined();

      // Offline tampering: an edited line, two lines swapped, the last records cut off.
      const records = lines.map((l, i) => [l, i] as const).filter(([l]) => l.includes('"actor":"operator-'));
      const [line5, at5] = records[4]!;
      const [line6, at6] = records[5]!;
      const edited = [...lines];
      edited[at5] = line5.replace('"operator-', '"intruder-');
      writeFileSync(file, `${edited.join('\n')}\n`);
      const seq5 = JSON.parse(line5).seq as number;
      expect((await attempt('audit', 'verify', '--file', file)).error).toContain(`record seq ${seq5}`);
      const swapped = [...lines];
      swapped[at5] = line6;
      swapped[at6] = line5;
      writeFileSync(file, `${swapped.join('\n')}\n`);
      expect((await attempt('audit', 'verify', '--file', file)).error).toMatch(/reordered|missing/);
      writeFileSync(file, `${lines.slice(0, -3).join('\n')}\n`);
      expect((await attempt('audit', 'verify', '--file', file)).error).toContain('truncated');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names an edited record', async () => {
    await freshTrail();
    const { seq, id } = await seqOf('r7');
    await tamper([`UPDATE audit_log SET after = '{"i": 70}' WHERE id = $1`, [id]]);
    const { error } = await attempt('audit', 'verify');
    expect(error).toContain(`record seq ${seq} (audit id ${id}) does not match its seal: edited`);
  });

  it('names a deleted record, with or without its chain position', async () => {
    await freshTrail();
    const r4 = await seqOf('r4');
    const r9 = await seqOf('r9');
    await tamper(['DELETE FROM audit_log WHERE id = $1', [r4.id]]);
    expect((await attempt('audit', 'verify')).error).toContain(
      `record seq ${r4.seq} (audit id ${r4.id}) is missing: deleted`,
    );
    await tamper(
      ['DELETE FROM audit_chain WHERE seq = $1', [r4.seq]],
      ['DELETE FROM audit_log WHERE id = $1', [r9.id]],
    );
    expect((await attempt('audit', 'verify')).error).toContain(
      `record ${r4.seq} is missing before seq ${r4.seq + 1}: deleted`,
    );
  });

  it('names reordered records', async () => {
    await freshTrail();
    const a = await seqOf('r3');
    const b = await seqOf('r4');
    await tamper(
      ['UPDATE audit_log SET id = -1 WHERE id = $1', [a.id]],
      ['UPDATE audit_log SET id = $1 WHERE id = $2', [a.id, b.id]],
      ['UPDATE audit_log SET id = $1 WHERE id = -1', [b.id]],
    );
    expect((await attempt('audit', 'verify')).error).toContain(
      `record seq ${a.seq} (audit id ${a.id}) does not match its seal`,
    );
  });

  it('names an inserted record', async () => {
    await freshTrail();
    const { seq } = await seqOf('r10');
    const { rows } = await db.pool.query(
      `INSERT INTO audit_log (actor, actor_role, action, subject_type, subject_id)
       VALUES ('intruder', 'reviewer', 'test.step', 'test', 'forged') RETURNING id`,
    );
    const forgedId = rows[0].id as string;
    const record = auditRecordFromRow(
      (await db.pool.query(`SELECT ${AUDIT_RECORD_COLUMNS} FROM audit_log a WHERE id = $1`, [forgedId]))
        .rows[0],
    );
    const prev = (
      await db.pool.query("SELECT encode(hash, 'hex') AS h FROM audit_chain WHERE seq = $1", [seq - 1])
    ).rows[0].h as string;
    // A careful forger: the new record hashes correctly in its place, and every later position moves up one.
    await tamper(
      ['UPDATE audit_chain SET seq = seq + 1000000 WHERE seq >= $1', [seq]],
      ['UPDATE audit_chain SET seq = seq - 1000000 + 1 WHERE seq >= 1000000'],
      [
        `INSERT INTO audit_chain (seq, audit_id, xid, prev_hash, hash)
         VALUES ($1, $2, '1', decode($3, 'hex'), decode($4, 'hex'))`,
        [seq, forgedId, prev, chainHash(prev, seq, record)],
      ],
    );
    expect((await attempt('audit', 'verify')).error).toContain(`record seq ${seq} was inserted`);
  });

  it('names a record slipped into audit_log behind the chain head', async () => {
    await freshTrail();
    await tamper([
      `INSERT INTO audit_log (actor, actor_role, action, subject_type, subject_id, xid)
       VALUES ('intruder', 'reviewer', 'test.step', 'test', 'backdated', '3')`,
    ]);
    expect((await attempt('audit', 'verify')).error).toMatch(
      /audit id \d+ sorts before the chain head but is not in the chain/,
    );
  });

  it('names a truncated trail', async () => {
    await freshTrail();
    const { seq } = await seqOf('r18');
    await tamper(
      ['DELETE FROM audit_log WHERE id IN (SELECT audit_id FROM audit_chain WHERE seq >= $1)', [seq]],
      ['DELETE FROM audit_chain WHERE seq >= $1', [seq]],
    );
    expect((await attempt('audit', 'verify')).error).toContain(`the chain ends at seq ${seq - 1}`);
  });

  it('catches a chain recomputed after an edit at the next checkpoint', async () => {
    await freshTrail();
    const { seq, id } = await seqOf('r12');
    await tamper([`UPDATE audit_log SET actor = 'someone else' WHERE id = $1`, [id]]);
    // Rehash from the edited record on, as someone knowing the scheme would.
    const { rows } = await db.pool.query(
      `SELECT c.seq::int AS seq, encode(c.prev_hash, 'hex') AS prev, ${AUDIT_RECORD_COLUMNS}
         FROM audit_chain c JOIN audit_log a ON a.id = c.audit_id WHERE c.seq >= $1 ORDER BY c.seq`,
      [seq],
    );
    let prev = rows[0].prev as string;
    const rewrites: [string, unknown[]][] = [];
    for (const row of rows) {
      const hash = chainHash(prev, row.seq, auditRecordFromRow(row));
      rewrites.push([
        "UPDATE audit_chain SET prev_hash = decode($2, 'hex'), hash = decode($3, 'hex') WHERE seq = $1",
        [row.seq, prev, hash],
      ]);
      prev = hash;
    }
    await tamper(...rewrites);
    const { out, error } = await attempt('audit', 'verify');
    expect(out).not.toContain(`at seq ${seq}:`);
    expect(error).toContain('records 1–');
    expect(error).toContain('were changed and the chain recomputed');
    // The copy outside the database holds the same checkpoint, so deleting the table's does not help.
    await tamper(['DELETE FROM audit_checkpoints']);
    expect((await attempt('audit', 'verify')).error).toContain('were changed and the chain recomputed');
    rmSync(checkpointFile(config.home));
    expect((await attempt('audit', 'verify')).error).toBeUndefined();
  });

  it('refuses a checkpoint whose signature is forged', async () => {
    await freshTrail();
    await sealAuditRecords(db.pool);
    const { rows } = await db.pool.query(
      "SELECT max(seq) AS seq, encode((SELECT hash FROM audit_chain ORDER BY seq DESC LIMIT 1), 'hex') AS head FROM audit_chain",
    );
    const at = new Date().toISOString();
    const statement = checkpointStatement({ seq: Number(rows[0].seq), head: rows[0].head, at });
    // Signed in the device, but by the RA's key: not the audit key.
    const signature = await device.signer('ra').sign(statement);
    await db.pool.query(
      `INSERT INTO audit_checkpoints (seq, head, at, issuer_id, signature, made_by)
       VALUES ($1, decode($2, 'hex'), $3, 'audit', $4, 'forger')`,
      [rows[0].seq, rows[0].head, at, Buffer.from(signature)],
    );
    const { error } = await attempt('audit', 'verify');
    expect(error).toContain('its signature does not verify under audit certificate "audit" (forged)');
    expect(existsSync(checkpointFile(config.home))).toBe(true);
  });
});
