import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectPool, migrate, migrationsDir, startEmbeddedPostgres } from '@sm2ca/store';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { freePort } from './free-port.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Superuser URL of the run's cluster; test files create their own databases from `templateDatabase`. */
    adminDatabaseUrl: string;
    templateDatabase: string;
  }
}

/**
 * One PostgreSQL for the whole run — the embedded one, or DATABASE_URL when an
 * external cluster is given — and one migrated template database that every
 * test file clones, so files never share state and never repeat migrations.
 */
export default async function setup(project: TestProject) {
  // Every temporary directory of the run goes under one root, removed at the end: a test that
  // fails or is killed half-way leaves nothing behind. Sticky and open to all like /tmp, since
  // some tests run a process as an unprivileged user. The test workers start after this, with it.
  const runRoot = await mkdtemp(join(tmpdir(), 'sm2ca-run-'));
  await chmod(runRoot, 0o1777);
  process.env.TMPDIR = runRoot;
  let stop = async () => {};
  let adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) {
    const dir = await mkdtemp(join(tmpdir(), 'sm2ca-test-pg-'));
    const server = await startEmbeddedPostgres({ dir, port: await freePort(), database: 'postgres' });
    adminUrl = server.url;
    stop = async () => {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    };
  }
  const template = `sm2ca_template_${process.pid}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${template}`);
  await admin.query(`CREATE DATABASE ${template}`);
  const templateUrl = new URL(adminUrl);
  templateUrl.pathname = `/${template}`;
  const pool = await connectPool(templateUrl.toString());
  await migrate(pool, migrationsDir);
  await pool.end();
  project.provide('adminDatabaseUrl', adminUrl);
  project.provide('templateDatabase', template);
  return async () => {
    await admin.query(`DROP DATABASE IF EXISTS ${template} WITH (FORCE)`).catch(() => {});
    await admin.end();
    await stop();
    await rm(runRoot, { recursive: true, force: true });
  };
}
