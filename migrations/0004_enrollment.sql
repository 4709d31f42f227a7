-- RA workflow: entry clerk enters, a different reviewer decides, a certificate maker issues.
CREATE TABLE applications (
  id bigserial PRIMARY KEY,
  status text NOT NULL CHECK (status IN ('submitted', 'approved', 'rejected', 'issued')),
  holder_type text NOT NULL CHECK (holder_type IN ('person', 'organisation', 'device')),
  holder jsonb NOT NULL,
  holder_key text NOT NULL,
  profile text NOT NULL,
  csr bytea NOT NULL,
  publish_consent boolean NOT NULL,
  entered_by bigint NOT NULL REFERENCES operators (id),
  entered_at timestamptz NOT NULL DEFAULT now(),
  deadline timestamptz NOT NULL,
  deadline_provisional boolean NOT NULL,
  reviewed_by bigint REFERENCES operators (id),
  reviewed_at timestamptz,
  review_reason text,
  issued_by bigint REFERENCES operators (id),
  issued_at timestamptz,
  ca_request_id text UNIQUE,
  issuer_id text,
  serial text,
  CHECK (reviewed_by IS NULL OR reviewed_by <> entered_by)
);
CREATE INDEX applications_status ON applications (status, deadline);
CREATE INDEX applications_holder ON applications (holder_key);

-- One-time download codes handed to the holder; only digests are kept.
CREATE TABLE download_codes (
  reference text PRIMARY KEY,
  application_id bigint NOT NULL REFERENCES applications (id),
  code_digest bytea NOT NULL,
  expires_at timestamptz NOT NULL,
  used_at timestamptz,
  failed_attempts integer NOT NULL DEFAULT 0
);

CREATE TABLE revocation_requests (
  id bigserial PRIMARY KEY,
  status text NOT NULL CHECK (status IN ('submitted', 'approved', 'rejected', 'done')),
  issuer_id text NOT NULL,
  serial text NOT NULL,
  reason text NOT NULL,
  requested_by text NOT NULL,
  entered_by bigint NOT NULL REFERENCES operators (id),
  entered_at timestamptz NOT NULL DEFAULT now(),
  reviewed_by bigint REFERENCES operators (id),
  decided_at timestamptz,
  review_reason text,
  ca_request_id text UNIQUE,
  done_at timestamptz,
  CHECK (reviewed_by IS NULL OR reviewed_by <> entered_by)
);
CREATE INDEX revocation_requests_status ON revocation_requests (status);
