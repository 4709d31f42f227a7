-- Dual enrollment: one application yields the holder's signature certificate and an encryption
-- certificate whose key pair the KM generated and escrowed. Both come from one CA instruction
-- under the application's one request id, so the CA and the retrier treat them as one issuance.
ALTER TABLE applications
  ADD COLUMN dual boolean NOT NULL DEFAULT false,
  -- The encryption certificate: same issuer as the signature certificate (issuer_id).
  ADD COLUMN encryption_serial text,
  -- The KM's SM2EnvelopedKey (GM/T 0009): the encryption private key, opened only with the
  -- holder's signature private key; kept so a new download code can hand it over again.
  ADD COLUMN enveloped_key bytea,
  ADD CONSTRAINT applications_dual_issued CHECK (
    status <> 'issued' OR dual = (encryption_serial IS NOT NULL AND enveloped_key IS NOT NULL)
  );

-- Finding the pair a certificate belongs to, from either of its serials.
CREATE INDEX applications_certificate ON applications (issuer_id, serial) WHERE serial IS NOT NULL;
CREATE INDEX applications_encryption_certificate ON applications (issuer_id, encryption_serial)
  WHERE encryption_serial IS NOT NULL;

-- The other certificate of a pair, recorded when the request is entered; revoked in the same
-- reviewed request when include_twin. Each certificate has its own CA request id, so either
-- instruction can be sent again without acting twice; the request is done when both are.
ALTER TABLE revocation_requests
  ADD COLUMN twin_issuer_id text,
  ADD COLUMN twin_serial text,
  ADD COLUMN include_twin boolean NOT NULL DEFAULT false,
  ADD COLUMN twin_ca_request_id text UNIQUE,
  -- When the CA confirmed each instruction.
  ADD COLUMN ca_done_at timestamptz,
  ADD COLUMN twin_ca_done_at timestamptz,
  ADD CONSTRAINT revocation_requests_twin CHECK (
    (twin_serial IS NULL) = (twin_issuer_id IS NULL) AND (NOT include_twin OR twin_serial IS NOT NULL)
  );

CREATE INDEX revocation_requests_twin_open ON revocation_requests (twin_issuer_id, twin_serial)
  WHERE include_twin AND status IN ('submitted', 'approved');

-- Requests done before this migration: their one instruction was confirmed when they were done.
UPDATE revocation_requests SET ca_done_at = done_at WHERE done_at IS NOT NULL;
