import { afterEach, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../../../test/support/test-database.ts';
import { LeaderJob } from './leader-job.ts';
import { createLogger } from './logger.ts';

const log = createLogger('leader-job-test', { level: 'silent' });
const POLL = { timeout: 10_000, interval: 50 };

describe('LeaderJob', () => {
  const db = useTestDatabase();
  const jobs: LeaderJob[] = [];
  afterEach(async () => {
    await Promise.all(jobs.splice(0).map((job) => job.stop()));
  });

  it('runs when elected and on the NOTIFYs it wants, one run at a time, past a failure, never after stop', async () => {
    let runs = 0;
    let running = 0;
    let overlapped = false;
    let release: () => void = () => {};
    let gate: Promise<void> | undefined;
    const job = new LeaderJob({
      url: db.url,
      applicationName: 'leader-job-test',
      lock: 'leader-job-test',
      channels: ['leader_job_test'],
      everyMs: 3_600_000,
      retryMs: 100,
      log,
      wakesOn: (_channel, payload) => payload !== 'ignore',
      work: async () => {
        runs += 1;
        running += 1;
        overlapped ||= running > 1;
        try {
          await gate;
          if (runs === 2) throw new Error('a failing run');
        } finally {
          running -= 1;
        }
      },
      failure: 'the test job failed',
    });
    jobs.push(job);
    await job.start();
    await expect.poll(() => runs, POLL).toBe(1);
    expect(job.active).toBe(true);

    gate = new Promise((resolve) => {
      release = resolve;
    });
    await db.pool.query("SELECT pg_notify('leader_job_test', 'go')");
    await expect.poll(() => runs, POLL).toBe(2);
    // Asked for three times during a run: one more run, after it.
    for (let i = 0; i < 3; i++) job.run();
    await db.pool.query("SELECT pg_notify('leader_job_test', 'ignore')");
    release();
    gate = undefined;
    await expect.poll(() => runs, POLL).toBe(3);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(runs).toBe(3);
    expect(overlapped).toBe(false);

    await jobs.pop()?.stop();
    expect(job.active).toBe(false);
    job.run();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(runs).toBe(3);
  });
});
