import { sm3 } from '@sm2ca/gm';
import type { Pool } from '@sm2ca/store';

/** The seeds' cycle: a new full CRL at least every 24 hours. */
export const crlCycleSeconds = 24 * 3600;

/** Rows read per query: a 10-year archive of large CRLs never sits in memory at once. */
const BATCH = 50;

export interface CrlGap {
  kind: 'full';
  fromNumber: string;
  toNumber: string;
  fromThisUpdate: string;
  toThisUpdate: string;
  seconds: number;
  /** The earlier CRL's nextUpdate passed before the later one was issued: a time with no valid CRL. */
  uncovered: boolean;
}

export interface IssuerCrlEvidence {
  issuerId: string;
  fullCount: number;
  deltaCount: number;
  firstThisUpdate: string | null;
  lastThisUpdate: string | null;
  /** From the first archived CRL's thisUpdate to now: how far back the archive reaches. */
  retentionDays: number | null;
  maxFullGapSeconds: number | null;
  /** Consecutive full CRLs further apart than the cycle. */
  gaps: CrlGap[];
  /** Archived CRLs whose bytes no longer match the SM3 digest stored with them. */
  digestMismatches: { number: string; kind: string }[];
  /** The last full CRL's age beyond the cycle, if the publisher is late now. */
  overdueSeconds: number;
  ok: boolean;
}

/**
 * Checks an issuer's CRL archive, oldest first: every CRL's bytes against its stored SM3 digest,
 * consecutive full CRLs no more than the cycle apart, and the span the archive covers.
 */
export async function crlEvidence(
  pool: Pool,
  issuerId: string,
  now = new Date(),
): Promise<IssuerCrlEvidence> {
  const evidence: IssuerCrlEvidence = {
    issuerId,
    fullCount: 0,
    deltaCount: 0,
    firstThisUpdate: null,
    lastThisUpdate: null,
    retentionDays: null,
    maxFullGapSeconds: null,
    gaps: [],
    digestMismatches: [],
    overdueSeconds: 0,
    ok: true,
  };
  let previousFull: { number: string; thisUpdate: Date; nextUpdate: Date } | undefined;
  let after = '0';
  for (;;) {
    const { rows } = await pool.query(
      `SELECT crl_number, kind, this_update, next_update, der, sm3 FROM crls
        WHERE issuer_id = $1 AND crl_number > $2 ORDER BY crl_number LIMIT ${BATCH}`,
      [issuerId, after],
    );
    for (const row of rows) {
      const number = String(row.crl_number);
      const thisUpdate = row.this_update as Date;
      if (!Buffer.from(sm3(row.der as Buffer)).equals(row.sm3 as Buffer)) {
        evidence.digestMismatches.push({ number, kind: row.kind });
      }
      evidence.firstThisUpdate ??= thisUpdate.toISOString();
      evidence.lastThisUpdate = thisUpdate.toISOString();
      if (row.kind === 'delta') {
        evidence.deltaCount++;
        continue;
      }
      evidence.fullCount++;
      if (previousFull) {
        const seconds = (thisUpdate.getTime() - previousFull.thisUpdate.getTime()) / 1000;
        evidence.maxFullGapSeconds = Math.max(evidence.maxFullGapSeconds ?? 0, seconds);
        const uncovered = thisUpdate > previousFull.nextUpdate;
        if (seconds > crlCycleSeconds || uncovered) {
          evidence.gaps.push({
            kind: 'full',
            fromNumber: previousFull.number,
            toNumber: number,
            fromThisUpdate: previousFull.thisUpdate.toISOString(),
            toThisUpdate: thisUpdate.toISOString(),
            seconds,
            uncovered,
          });
        }
      }
      previousFull = { number, thisUpdate, nextUpdate: row.next_update as Date };
    }
    if (rows.length < BATCH) break;
    after = String(rows[rows.length - 1]!.crl_number);
  }
  if (evidence.firstThisUpdate) {
    evidence.retentionDays = Math.floor((now.getTime() - Date.parse(evidence.firstThisUpdate)) / 86_400_000);
  }
  if (previousFull) {
    const age = (now.getTime() - previousFull.thisUpdate.getTime()) / 1000;
    evidence.overdueSeconds = Math.max(0, Math.round(age - crlCycleSeconds));
  }
  evidence.ok =
    evidence.gaps.length === 0 && evidence.digestMismatches.length === 0 && evidence.overdueSeconds === 0;
  return evidence;
}
