import { type EmbeddedOptions, startEmbeddedPostgres } from '@sm2ca/store';
import pg from 'pg';

type Embedded = Awaited<ReturnType<typeof startEmbeddedPostgres>>;

/**
 * A bench's embedded PostgreSQL restarted with pg_stat_statements loaded (it must be preloaded,
 * so the setting needs a restart), for a list of what the database ran per unit of work:
 * BENCH_PG_STATEMENTS=1 in bench/issue.
 */
export async function withStatementStats(server: Embedded, options: EmbeddedOptions): Promise<Embedded> {
  await sql(server.url, [
    "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'",
    'ALTER SYSTEM SET pg_stat_statements.track_utility = on',
  ]);
  await server.stop();
  const restarted = await startEmbeddedPostgres(options);
  await sql(restarted.url, ['CREATE EXTENSION IF NOT EXISTS pg_stat_statements']);
  return restarted;
}

/** Forgets what ran so far: the measured window starts here. */
export function resetStatementStats(url: string): Promise<void> {
  return sql(url, ['SELECT pg_stat_statements_reset()']);
}

/** The statements by total execution time, as calls and milliseconds per unit of work. */
export async function printStatementStats(url: string, units: number, unit: string): Promise<void> {
  const client = new pg.Client(url);
  await client.connect();
  try {
    const { rows } = await client.query(
      `SELECT sum(calls)::float8 AS calls, sum(total_exec_time) AS ms,
              left(regexp_replace(query, '\\s+', ' ', 'g'), 100) AS text
         FROM pg_stat_statements
        WHERE query NOT LIKE '%pg_stat_statements%'
        GROUP BY text ORDER BY ms DESC LIMIT 20`,
    );
    console.log(`PostgreSQL statements per ${unit} (calls, execution ms; by total time):`);
    for (const row of rows) {
      console.log(
        `  ${(row.calls / units).toFixed(2).padStart(6)} ${(row.ms / units).toFixed(3).padStart(7)} ms  ${row.text}`,
      );
    }
  } finally {
    await client.end();
  }
}

async function sql(url: string, statements: string[]): Promise<void> {
  const client = new pg.Client(url);
  await client.connect();
  try {
    for (const statement of statements) await client.query(statement);
  } finally {
    await client.end();
  }
}
