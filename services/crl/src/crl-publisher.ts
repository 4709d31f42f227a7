import { sm3 } from '@sm2ca/gm';
import { buildCrl, type PartsSigner } from '@sm2ca/pki';
import type { Config } from '@sm2ca/platform';
import { issuerUrls } from '@sm2ca/platform';
import { type Pool, type PoolClient, withTransaction } from '@sm2ca/store';
import type { CaIssuer } from './ca-issuers.ts';
import { type ArchivedCrl, allocateCrlNumber, archiveCrl, latestFullNumber } from './crl-archive.ts';
import { crlEntries } from './crl-entries.ts';
import { recordCrlContents } from './crl-revocations.ts';
import { type CrlKind, nextUpdateFor } from './crl-schedule.ts';

export interface PublisherDeps {
  pool: Pool;
  config: Config;
  signer(keyLabel: string): PartsSigner;
  /** Written into the archive with each CRL: which process published it. */
  publisherId: string;
}

/**
 * Builds, signs and archives a CRL in a single repeatable-read transaction: number,
 * entries, archive row and the first-publication records all come from one snapshot, and
 * the CRL exists (for every replica to serve) exactly when that transaction commits. A
 * delta asked for before the issuer has any full CRL becomes a full one. A full CRL comes
 * with an empty delta based on it, in the same transaction: its Freshest CRL pointer is then
 * never dangling, and never leads to a delta numbered below it, which RFC 5280 5.2.4 forbids
 * combining with it. Returns what was archived, in number order.
 */
export async function publishCrl(
  deps: PublisherDeps,
  issuer: CaIssuer,
  kind: CrlKind,
): Promise<ArchivedCrl[]> {
  return withTransaction(
    deps.pool,
    async (client) => {
      const number = await allocateCrlNumber(client, issuer.id);
      const base = kind === 'delta' ? await latestFullNumber(client, issuer.id) : undefined;
      const crl = await archiveNew(deps, client, issuer, number, base);
      if (base !== undefined) return [crl];
      const delta = await archiveNew(
        deps,
        client,
        issuer,
        await allocateCrlNumber(client, issuer.id),
        number,
        true,
      );
      return [crl, delta];
    },
    { isolation: 'repeatable read' },
  );
}

/**
 * A full CRL, or a delta CRL against `base`, numbered `number`, in the caller's transaction.
 * `emptyDelta`: the delta against a full CRL this transaction has just recorded. Its
 * recordCrlContents marked every listed revocation as first carried by the base and cleared
 * every row no certificate matches, so the delta query can find nothing and there is nothing
 * new to record: both are skipped, which spares a million-row join per full CRL.
 */
async function archiveNew(
  deps: PublisherDeps,
  client: PoolClient,
  issuer: CaIssuer,
  number: bigint,
  base: bigint | undefined,
  emptyDelta = false,
): Promise<ArchivedCrl> {
  const kind: CrlKind = base === undefined ? 'full' : 'delta';
  // Times in a CRL are whole seconds; the database clock is the one revocations are stamped with.
  const { rows } = await client.query("SELECT date_trunc('second', clock_timestamp()) AS now");
  const thisUpdate: Date = rows[0].now;
  const settings = deps.config.crl;
  const nextUpdate = nextUpdateFor(
    thisUpdate,
    kind === 'full' ? settings.intervalMinutes : settings.deltaIntervalMinutes,
  );
  let entryCount = 0;
  async function* counted() {
    if (emptyDelta) return;
    for await (const entry of crlEntries(client, issuer.id, base)) {
      entryCount++;
      yield entry;
    }
  }
  const der = await buildCrl(
    {
      issuerName: issuer.subject,
      authorityKeyIdentifier: issuer.subjectKeyId,
      crlNumber: number,
      thisUpdate,
      nextUpdate,
      ...(base === undefined
        ? { freshestCrlUris: [issuerUrls(deps.config, issuer.id).deltaCrl] }
        : { baseCrlNumber: base }),
    },
    counted(),
    deps.signer(issuer.keyLabel),
  );
  const crl = {
    issuerId: issuer.id,
    number,
    kind,
    ...(base === undefined ? {} : { baseNumber: base }),
    thisUpdate,
    nextUpdate,
    entryCount,
    sm3: Buffer.from(sm3(...der)),
    publisher: deps.publisherId,
  };
  const publishedAt = await archiveCrl(client, { ...crl, der });
  if (!emptyDelta) await recordCrlContents(client, issuer.id, number, publishedAt);
  return { ...crl, publishedAt };
}
