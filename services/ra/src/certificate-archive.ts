import { type Config, LeaderJob, type Logger } from '@sm2ca/platform';
import type { Pool } from '@sm2ca/store';

const BATCH = 1_000;

/** The CA's status-change channel: a revocation may make a certificate due at once (archiveAfterDays 0). */
const statusChannel = 'certificate_status';

type ArchiveSettings = Pick<
  Config['lifecycle'],
  'archiveAfterDays' | 'holderRetentionYears' | 'governmentRetentionYears'
>;

/**
 * A government body's holder key: a unified social credit code whose registering authority is
 * the establishment administration (机构编制, first character 1) for an organ of state (机关,
 * second character 1), GB 32100. Their records are kept longer (governmentRetentionYears).
 */
const government = "coalesce(holder_key LIKE 'uscc:11%', false)";

// One statement per batch: the archive rows and their audit records commit together. A
// certificate is due once it has been expired, or revoked, for archiveAfterDays; one on hold
// is still current. The holder's records are kept until retain_until, counted from notAfter.
const archive = `
  WITH due AS (
    SELECT c.issuer_id, c.serial, c.not_after,
           CASE WHEN c.status = 'revoked' THEN 'revoked' ELSE 'expired' END AS reason,
           coalesce(c.holder_key, a.holder_key) AS holder_key
      FROM certificates c
      LEFT JOIN applications a
        ON a.issuer_id = c.issuer_id AND (a.serial = c.serial OR a.encryption_serial = c.serial)
           AND a.status = 'issued'
     WHERE c.status <> 'planned'
       AND ((c.status = 'revoked' AND c.revoked_at <= now() - make_interval(days => $1))
            OR c.not_after <= now() - make_interval(days => $1))
       AND NOT EXISTS (SELECT FROM certificate_archive x WHERE x.issuer_id = c.issuer_id AND x.serial = c.serial)
     ORDER BY c.not_after
     LIMIT ${BATCH}
  ), archived AS (
    INSERT INTO certificate_archive (issuer_id, serial, reason, holder_key, government, retain_until)
    SELECT issuer_id, serial, reason, holder_key, ${government},
           not_after + make_interval(years => CASE WHEN ${government} THEN $3::int ELSE $2::int END)
      FROM due
    ON CONFLICT DO NOTHING
    RETURNING issuer_id, serial, reason, government, retain_until
  ), audit AS (
    INSERT INTO audit_log (actor, actor_role, action, subject_type, subject_id, after)
    SELECT 'ra', 'certificate_archive', 'certificate.archive', 'certificate', issuer_id || '/' || serial,
           jsonb_build_object('state', 'archived', 'reason', reason, 'government', government,
                              'retainUntil', retain_until)
      FROM archived
  )
  SELECT count(*)::int AS n FROM archived`;

/**
 * Moves every certificate past its active life into the archive: a state, not a deletion. The
 * certificate, its CRL entries and the holder's application stay where they are, queries show it
 * as archived, and OCSP and CRLs keep answering for it. Answers how many were archived.
 */
export async function archiveCertificates(pool: Pool, settings: ArchiveSettings): Promise<number> {
  let total = 0;
  for (;;) {
    const { rows } = await pool.query({
      name: 'ra-archive-certificates',
      text: archive,
      values: [settings.archiveAfterDays, settings.holderRetentionYears, settings.governmentRetentionYears],
    });
    total += rows[0].n as number;
    if (rows[0].n < BATCH) return total;
  }
}

function revocationNamed(payload: string): boolean {
  try {
    return (JSON.parse(payload) as { status?: unknown }).status === 'revoked';
  } catch {
    return true;
  }
}

/** The archive run by one RA replica at a time: every archiveCheckMinutes and on every status change. */
export class CertificateArchiver {
  readonly #job: LeaderJob;

  constructor(options: {
    pool: Pool;
    url: string;
    settings: Config['lifecycle'];
    log: Logger;
    leaderRetryMs?: number;
  }) {
    const { pool, settings, log } = options;
    this.#job = new LeaderJob({
      url: options.url,
      applicationName: 'sm2ca-ra-certificate-archive',
      lock: 'sm2ca:ra-certificate-archive',
      channels: [statusChannel],
      // Only a revocation can make a certificate due before the periodic run (expiry comes with
      // time): each issuance notifies too, and a run per certificate issued costs more than issuing.
      wakesOn: (_channel, payload) => revocationNamed(payload),
      everyMs: settings.archiveCheckMinutes * 60_000,
      ...(options.leaderRetryMs ? { retryMs: options.leaderRetryMs } : {}),
      log,
      work: async () => {
        const archived = await archiveCertificates(pool, settings);
        if (archived > 0) log.info({ archived }, 'certificates archived');
      },
      failure: `certificate archive run failed; tried again in ${settings.archiveCheckMinutes} minutes`,
    });
  }

  start(): Promise<void> {
    return this.#job.start();
  }

  stop(): Promise<void> {
    return this.#job.stop();
  }
}
