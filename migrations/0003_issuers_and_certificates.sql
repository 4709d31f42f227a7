-- The CA's own keys and certificates: root, issuing CA, RA, OCSP signers.
CREATE TABLE issuers (
  id text PRIMARY KEY,
  kind text NOT NULL CHECK (kind IN ('root', 'subordinate', 'ra', 'ocsp')),
  parent_id text REFERENCES issuers (id),
  key_label text NOT NULL UNIQUE,
  subject text NOT NULL,
  certificate bytea NOT NULL,
  subject_key_id bytea NOT NULL,
  not_after timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- A row exists (status 'planned', with its TBS) before the CA key signs, so a
-- crash can never leave a signed certificate unrecorded nor reuse a serial.
CREATE TABLE certificates (
  issuer_id text NOT NULL REFERENCES issuers (id),
  serial text NOT NULL CHECK (serial ~ '^[0-9a-f]+$'),
  status text NOT NULL CHECK (status IN ('planned', 'good', 'revoked', 'hold')),
  profile text NOT NULL,
  subject text NOT NULL,
  holder_key text,
  tbs bytea NOT NULL,
  der bytea,
  not_before timestamptz NOT NULL,
  not_after timestamptz NOT NULL,
  request_id text NOT NULL,
  planned_at timestamptz NOT NULL DEFAULT now(),
  issued_at timestamptz,
  revoked_at timestamptz,
  revocation_reason text,
  invalidity_date timestamptz,
  PRIMARY KEY (issuer_id, serial),
  CHECK ((status = 'planned') = (der IS NULL))
);
CREATE INDEX certificates_status ON certificates (status);
CREATE INDEX certificates_holder ON certificates (holder_key);

-- Instructions the CA accepted from the RA: replay protection and idempotency.
-- The same request id always yields the same answer.
CREATE TABLE ca_requests (
  request_id text PRIMARY KEY,
  operation text NOT NULL,
  body_digest bytea NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  issuer_id text,
  serial text,
  response jsonb
);

-- Status changes for the OCSP responder and the CRL publisher (outbox; also NOTIFY).
CREATE TABLE certificate_events (
  id bigserial PRIMARY KEY,
  issuer_id text NOT NULL,
  serial text NOT NULL,
  status text NOT NULL,
  at timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (issuer_id, serial) REFERENCES certificates (issuer_id, serial)
);
