-- The audit admin's settings: one row, absent until first set (then the defaults in
-- services/ra/src/audit-settings.ts apply, and the checkpoint interval is the configuration's).
-- Retention is at least 10 years: holder records are kept 10 years after expiry for government
-- holders (2009 measures art. 24), CRL backups at least 10 years (service quality requirements).
CREATE TABLE audit_settings (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  retention_years integer NOT NULL CHECK (retention_years BETWEEN 10 AND 100),
  checkpoint_minutes integer NOT NULL CHECK (checkpoint_minutes BETWEEN 1 AND 1440),
  -- Days after a month ends (China Standard Time) before it counts as closed and may be archived.
  archive_after_days integer NOT NULL CHECK (archive_after_days BETWEEN 0 AND 28),
  changed_at timestamptz NOT NULL DEFAULT now(),
  changed_by text NOT NULL
);

-- One archive per closed month: the month's part of the chain as an export file under
-- $SM2CA_HOME, with the SM3 digest of its bytes. The rows stay in audit_log; nothing is deleted.
CREATE TABLE audit_archives (
  month text PRIMARY KEY CHECK (month ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
  file text NOT NULL,
  digest bytea NOT NULL CHECK (length(digest) = 32),
  records integer NOT NULL CHECK (records >= 0),
  checkpoints integer NOT NULL CHECK (checkpoints >= 0),
  first_seq bigint,
  last_seq bigint,
  -- The end of the month plus the retention in force when it was archived.
  keep_until timestamptz NOT NULL,
  made_at timestamptz NOT NULL DEFAULT now(),
  made_by text NOT NULL,
  CHECK ((first_seq IS NULL) = (last_seq IS NULL) AND (first_seq IS NULL) = (records = 0))
);

CREATE TRIGGER audit_archives_insert_only BEFORE UPDATE OR DELETE ON audit_archives
  FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_archives_no_truncate BEFORE TRUNCATE ON audit_archives
  FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();

-- Grants (migrations/README.md): every service seals and checkpoints the chain, so each reads the
-- interval; only the RA, where the audit admin works, changes the settings and registers archives.
GRANT SELECT ON audit_settings TO sm2ca_ra, sm2ca_ca, sm2ca_km, sm2ca_ocsp, sm2ca_crl;
GRANT INSERT, UPDATE ON audit_settings TO sm2ca_ra;
GRANT SELECT, INSERT ON audit_archives TO sm2ca_ra;
