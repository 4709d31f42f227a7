-- Encryption certificates whose key pair the KM generated and escrows: the second half of a
-- dual issue instruction, one per request id. The serial and validity are planned before
-- the KM is asked, so a retry of the instruction asks again for the same certificate number
-- and the KM (idempotent on CA, certificate number and task) answers with the same key. The
-- KM's envelope of the private key for the holder is recorded in the statement that plans
-- the certificate: it is part of the instruction's answer, given again to every retry.
CREATE TABLE km_certificates (
  request_id text PRIMARY KEY REFERENCES ca_requests (request_id),
  issuer_id text NOT NULL REFERENCES issuers (id),
  serial text NOT NULL CHECK (serial ~ '^[0-9a-f]+$'),
  profile text NOT NULL,
  not_before timestamptz NOT NULL,
  not_after timestamptz NOT NULL,
  -- SM2EnvelopedKey DER, to the key of the instruction's signature certificate.
  enveloped_key bytea,
  planned_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (issuer_id, serial)
);

-- Key revocations owed to the KM (outbox): written in the transaction that revokes the
-- certificate of an escrowed key, sent by the leading CA replica until the KM confirms.
CREATE TABLE km_key_revocations (
  issuer_id text NOT NULL,
  serial text NOT NULL,
  requested_at timestamptz NOT NULL DEFAULT now(),
  attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  -- The last failure (code, message, at), for operators.
  last_error jsonb,
  done_at timestamptz,
  PRIMARY KEY (issuer_id, serial),
  FOREIGN KEY (issuer_id, serial) REFERENCES certificates (issuer_id, serial)
);
CREATE INDEX km_key_revocations_due ON km_key_revocations (next_attempt_at) WHERE done_at IS NULL;
