import { parseCertificate } from '@sm2ca/pki';
import { type Config, caEntry, holderEntry, LeaderJob, type Logger } from '@sm2ca/platform';
import type { Pool } from '@sm2ca/store';
import { markFailed, markPublished, type OutboxItem, pendingItems } from './directory-outbox.ts';
import { type DirectoryConnection, DirectoryWriter } from './directory-writer.ts';

const LEADER_LOCK = 'sm2ca:crl-directory';
const CHANNEL = 'directory_outbox';
const BATCH = 500;
/** Entries written at once: slapd commits each write on its own, so a few in flight overlap the waits. */
const ENTRIES_IN_FLIGHT = 8;
/** Published items are marked in the outbox this many at a time (a crash re-sends at most these, harmlessly). */
const MARK_EVERY = 50;

export interface DirectoryPublisherOptions {
  pool: Pool;
  /** The database URL, for the leader's own connection outside the pool. */
  url: string;
  config: Config;
  connection: DirectoryConnection;
  log: Logger;
  everyMs?: number;
  leaderRetryMs?: number;
}

/**
 * Keeps the directory in step with the outbox, on one replica at a time. Items go out in id
 * order; one that fails is tried again after a growing pause and holds back the later items of
 * its own entry only, so the entry's changes land in the order they were made. Nothing is
 * removed from the outbox until the directory took it, so restarts of either lose nothing.
 */
export class DirectoryPublisher {
  readonly #options: DirectoryPublisherOptions;
  readonly #job: LeaderJob;
  #writer: DirectoryWriter | undefined;

  constructor(options: DirectoryPublisherOptions) {
    this.#options = options;
    this.#job = new LeaderJob({
      url: options.url,
      applicationName: 'sm2ca-directory-leader',
      lock: LEADER_LOCK,
      channels: [CHANNEL],
      everyMs: options.everyMs ?? 1_000,
      ...(options.leaderRetryMs ? { retryMs: options.leaderRetryMs } : {}),
      log: options.log,
      work: () => this.#publishPending(),
      failure: 'directory publication failed; trying again',
    });
  }

  get leader(): boolean {
    return this.#job.leader;
  }

  start(): Promise<void> {
    return this.#job.start();
  }

  async stop(): Promise<void> {
    await this.#job.stop();
    await this.#writer?.close();
    this.#writer = undefined;
  }

  async #publishPending(): Promise<void> {
    for (;;) {
      const items = await pendingItems(this.#options.pool, BATCH);
      const byEntry = new Map<string, OutboxItem[]>();
      for (const item of items) byEntry.set(item.entryKey, [...(byEntry.get(item.entryKey) ?? []), item]);
      const { published, stop } = await this.#publishEntries([...byEntry.values()]);
      if (stop || items.length < BATCH || published === 0) return;
    }
  }

  /**
   * Each entry's items in order, several entries at once. An item not due yet, or failing, holds
   * back the rest of its entry; an unreachable directory stops everything until the back-off.
   */
  async #publishEntries(entries: OutboxItem[][]): Promise<{ published: number; stop: boolean }> {
    const { pool, config, log } = this.#options;
    let stop = false;
    let published = 0;
    let marks: string[] = [];
    const flush = async () => {
      const ids = marks;
      marks = [];
      await markPublished(pool, ids);
    };
    const publishEntry = async (items: OutboxItem[]) => {
      for (const item of items) {
        if (stop || !this.#job.active || !item.due) return;
        try {
          await this.#publish(item);
        } catch (err) {
          await markFailed(pool, item, (err as Error).message, config.directory.retryMaxSeconds);
          log.warn({ err, item: item.id, kind: item.kind }, 'directory publication failed; will try again');
          // A directory that cannot be reached fails every item alike: wait for the back-off.
          if (unreachable(err)) stop = true;
          return;
        }
        published++;
        marks.push(item.id);
        if (marks.length >= MARK_EVERY) await flush();
      }
    };
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(ENTRIES_IN_FLIGHT, entries.length) }, async () => {
        while (next < entries.length) await publishEntry(entries[next++]!);
      }),
    );
    await flush();
    if (stop) await this.#reset();
    return { published, stop };
  }

  async #reset(): Promise<void> {
    await this.#writer?.close();
    this.#writer = undefined;
  }

  async #publish(item: OutboxItem): Promise<void> {
    this.#writer ??= new DirectoryWriter(this.#options.connection);
    const writer = this.#writer;
    const { pool, config } = this.#options;
    const layout = config.directory;
    if (item.kind === 'certificate') {
      const { certificate } = item;
      if (!certificate) return;
      const entry = holderEntry(parseCertificate(certificate.der).subject, layout);
      if (certificate.listed)
        await writer.addValue(entry, 'holder', 'userCertificate;binary', certificate.der);
      else await writer.removeValue(entry, 'userCertificate;binary', certificate.der);
      return;
    }
    const { rows: issuers } = await pool.query({
      name: 'directory-issuer',
      text: 'SELECT certificate FROM issuers WHERE id = $1',
      values: [item.issuerId],
    });
    if (!issuers[0]) return;
    const entry = caEntry(parseCertificate(issuers[0].certificate).subject, layout);
    if (item.kind === 'ca_certificate') {
      await writer.addValue(entry, 'ca', 'cACertificate;binary', issuers[0].certificate);
      return;
    }
    // Only the newest CRL of its kind is written: a newer one queued behind replaces it anyway.
    const { rows: crls } = await pool.query({
      name: 'directory-crl',
      text: `SELECT c.kind, c.der FROM crls c
              WHERE c.issuer_id = $1 AND c.crl_number = $2
                AND NOT EXISTS (SELECT FROM crls n WHERE n.issuer_id = c.issuer_id AND n.kind = c.kind
                                                    AND n.crl_number > c.crl_number)`,
      values: [item.issuerId, item.crlNumber],
    });
    if (!crls[0]) return;
    const type = crls[0].kind === 'full' ? 'certificateRevocationList;binary' : 'deltaRevocationList;binary';
    await writer.replaceValue(entry, 'ca', type, crls[0].der);
  }
}

/** Connection-level failures (refused, reset, timed out), as opposed to an LDAP result code. */
function unreachable(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && /^E[A-Z]+/.test(code)) return true;
  return /timeout|closed|ECONN|socket/i.test((err as Error).message ?? '');
}
