-- RA/CA operators. The credential is random and high-entropy, so a plain SM3
-- digest is enough to make the stored value useless to a reader of the table.
CREATE TABLE operators (
  id bigserial PRIMARY KEY,
  name text NOT NULL UNIQUE,
  role text NOT NULL CHECK (role IN ('business_admin', 'entry_clerk', 'reviewer', 'certificate_maker', 'auditor')),
  credential_digest bytea NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now(),
  disabled_at timestamptz
);

-- Every state change writes one row here in the same transaction as the change.
CREATE TABLE audit_log (
  id bigserial PRIMARY KEY,
  at timestamptz NOT NULL DEFAULT now(),
  actor text NOT NULL,
  actor_role text NOT NULL,
  action text NOT NULL,
  subject_type text NOT NULL,
  subject_id text NOT NULL,
  before jsonb,
  after jsonb
);
CREATE INDEX audit_log_subject ON audit_log (subject_type, subject_id);
