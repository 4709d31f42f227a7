-- Key recovery (密钥恢复) and judicial recovery (司法恢复): the key administrator and the
-- judicial officer join the operator roles.
ALTER TABLE operators DROP CONSTRAINT operators_role_check;
ALTER TABLE operators ADD CONSTRAINT operators_role_check CHECK (role IN (
  'business_admin', 'entry_clerk', 'reviewer', 'certificate_maker', 'auditor',
  'key_administrator', 'judicial_officer'));

-- A holder's escrowed encryption key, released by KM enveloped to the holder's current
-- signature key (the recipient, fixed at approval) and fetched once with a download code.
CREATE TABLE key_recoveries (
  id bigserial PRIMARY KEY,
  status text NOT NULL CHECK (status IN ('submitted', 'approved', 'released', 'downloaded', 'rejected', 'failed')),
  issuer_id text NOT NULL,
  serial text NOT NULL,
  holder_key text NOT NULL,
  -- What the entry clerk checked of the holder's identity, as recorded evidence.
  identity_check jsonb NOT NULL,
  entered_by bigint NOT NULL REFERENCES operators (id),
  entered_at timestamptz NOT NULL DEFAULT now(),
  reviewed_by bigint REFERENCES operators (id),
  decided_at timestamptz,
  review_reason text,
  recipient_issuer_id text,
  recipient_serial text,
  km_task_no text UNIQUE,
  released_at timestamptz,
  public_key bytea,
  enveloped_key bytea,
  failure jsonb,
  download_reference text UNIQUE,
  code_digest bytea,
  code_expires_at timestamptz,
  code_failed_attempts integer NOT NULL DEFAULT 0,
  downloaded_at timestamptz,
  FOREIGN KEY (issuer_id, serial) REFERENCES certificates (issuer_id, serial),
  FOREIGN KEY (recipient_issuer_id, recipient_serial) REFERENCES certificates (issuer_id, serial),
  CHECK (reviewed_by IS NULL OR reviewed_by <> entered_by),
  CHECK (status NOT IN ('released', 'downloaded') OR enveloped_key IS NOT NULL)
);
CREATE INDEX key_recoveries_status ON key_recoveries (status);

-- A court-authorised recovery: the key goes to the officer's own signature certificate
-- after two key administrators approve.
CREATE TABLE judicial_recoveries (
  id bigserial PRIMARY KEY,
  status text NOT NULL CHECK (status IN ('submitted', 'approved', 'released', 'downloaded', 'rejected', 'failed')),
  issuer_id text NOT NULL,
  serial text NOT NULL,
  -- The court's authorisation and the officer's identity, as recorded evidence.
  authorisation jsonb NOT NULL,
  officer_issuer_id text NOT NULL,
  officer_serial text NOT NULL,
  entered_by bigint NOT NULL REFERENCES operators (id),
  entered_at timestamptz NOT NULL DEFAULT now(),
  decided_at timestamptz,
  km_task_no text UNIQUE,
  released_at timestamptz,
  public_key bytea,
  enveloped_key bytea,
  failure jsonb,
  downloaded_at timestamptz,
  FOREIGN KEY (issuer_id, serial) REFERENCES certificates (issuer_id, serial),
  FOREIGN KEY (officer_issuer_id, officer_serial) REFERENCES certificates (issuer_id, serial),
  CHECK (status NOT IN ('released', 'downloaded') OR enveloped_key IS NOT NULL)
);
CREATE INDEX judicial_recoveries_status ON judicial_recoveries (status);

-- One decision per key administrator and case; an expired approval is renewed in place.
CREATE TABLE judicial_recovery_decisions (
  recovery_id bigint NOT NULL REFERENCES judicial_recoveries (id),
  operator_id bigint NOT NULL REFERENCES operators (id),
  decision text NOT NULL CHECK (decision IN ('approve', 'reject')),
  reason text,
  decided_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (recovery_id, operator_id)
);
