import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrate } from '@sm2ca/store';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../../../test/support/test-database.ts';

const migrations = new URL('../../../../migrations', import.meta.url).pathname;

describe('migration 0016: operators become persons with roles', () => {
  const before = mkdtempSync(join(tmpdir(), 'migrations-before-0016-'));
  afterAll(() => rmSync(before, { recursive: true, force: true }));

  it('carries each operator’s role over into operator_roles and drops the column', async () => {
    for (const file of readdirSync(migrations).filter((f) => f < '0016')) {
      cpSync(join(migrations, file), join(before, file));
    }
    const db = await createTestDatabase({ empty: true });
    try {
      await migrate(db.pool, before);
      await db.pool.query(
        `INSERT INTO operators (name, role, credential_digest) VALUES
           ('Old Clerk', 'entry_clerk', '\\x01'), ('Old Officer', 'judicial_officer', '\\x02')`,
      );
      await migrate(db.pool, migrations);
      const { rows } = await db.pool.query(
        `SELECT o.name, o.identity, r.role, r.granted_by FROM operators o
           JOIN operator_roles r ON r.operator_id = o.id ORDER BY o.id`,
      );
      expect(rows).toEqual([
        {
          name: 'Old Clerk',
          identity: expect.stringMatching(/^legacy-\d+$/),
          role: 'entry_clerk',
          granted_by: null,
        },
        {
          name: 'Old Officer',
          identity: expect.stringMatching(/^legacy-\d+$/),
          role: 'judicial_officer',
          granted_by: null,
        },
      ]);
      const column = await db.pool.query(
        "SELECT 1 FROM information_schema.columns WHERE table_name = 'operators' AND column_name = 'role'",
      );
      expect(column.rowCount).toBe(0);
      await expect(
        db.pool.query(
          "INSERT INTO operator_roles (operator_id, role) SELECT id, 'root' FROM operators LIMIT 1",
        ),
      ).rejects.toMatchObject({ code: '23514' });
    } finally {
      await db.drop();
    }
  });
});
