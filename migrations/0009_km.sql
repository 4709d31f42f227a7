-- The key-management centre (KM). Two more certificates of the hierarchy, made by the key
-- ceremony: 'km' signs the KM's answers, 'ca-km' signs the CA's requests to the KM (the RA
-- signs its recovery requests with its own 'ra' key).
ALTER TABLE issuers DROP CONSTRAINT issuers_kind_check;
ALTER TABLE issuers ADD CONSTRAINT issuers_kind_check
  CHECK (kind IN ('root', 'subordinate', 'ra', 'ocsp', 'km', 'ca-km'));

-- Every SM2 encryption key pair the KM ever generated, from the pool to the archive, in one
-- table: taking a key from the pool is then one UPDATE of one row, so no crash can leave a key
-- half-way between a pool and an escrow, in both or in neither. The private key exists here
-- only wrapped (SM4) under the device's non-extractable master key.
CREATE TABLE km_keys (
  id bigserial PRIMARY KEY,
  -- pooled: generated, never handed out. current: escrowed for the encryption certificate
  -- user_cert_no of CA ca_name. revoked: that certificate was revoked (RevokeKeyReq).
  -- expired: it passed not_after. archived: kept for recovery only, no longer changed.
  state text NOT NULL CHECK (state IN ('pooled', 'current', 'revoked', 'expired', 'archived')),
  -- SubjectPublicKeyInfo DER: what the encryption certificate certifies.
  public_key bytea NOT NULL UNIQUE,
  wrapped_private_key bytea NOT NULL,
  -- Which device key wraps it, so the master key can be rotated without losing old escrows.
  master_key_label text NOT NULL,
  generated_at timestamptz NOT NULL DEFAULT now(),
  -- The holder, set once when the key leaves the pool and never changed after.
  ca_name text,
  user_cert_no text CHECK (user_cert_no ~ '^[0-9a-f]+$'),
  -- SPKI DER of the signature key the key was first enveloped to (the holder's).
  holder_public_key bytea,
  not_before timestamptz,
  not_after timestamptz,
  taken_at timestamptz,
  -- The CA's request (km_requests.task_no) that took it: a repeat of that request gets this key again.
  taken_task_no text,
  state_changed_at timestamptz NOT NULL DEFAULT now(),
  CHECK (
    (state = 'pooled') = (user_cert_no IS NULL)
    AND (state = 'pooled' OR (ca_name IS NOT NULL AND holder_public_key IS NOT NULL AND not_before IS NOT NULL
                              AND not_after IS NOT NULL AND taken_at IS NOT NULL AND taken_task_no IS NOT NULL))
  )
);
-- One key per encryption certificate: a second holder for the same certificate number is refused
-- by the database itself, however many KM replicas race.
CREATE UNIQUE INDEX km_keys_certificate ON km_keys (ca_name, user_cert_no) WHERE user_cert_no IS NOT NULL;
-- The pool, oldest first, and the escrows the expiry job looks at.
CREATE INDEX km_keys_pooled ON km_keys (id) WHERE state = 'pooled';
CREATE INDEX km_keys_current_expiry ON km_keys (not_after) WHERE state = 'current';

-- An escrow is evidence and the only way back to data encrypted under its key: never deleted.
CREATE FUNCTION km_keys_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'km_keys rows are never deleted (key %)', OLD.id USING ERRCODE = 'restrict_violation';
END;
$$;
CREATE TRIGGER km_keys_keep BEFORE DELETE ON km_keys FOR EACH ROW EXECUTE FUNCTION km_keys_keep();

-- Requests the KM accepted, by the caller's task number: the same task with the same content
-- (a retry, whatever its requestTime) gets the same answer; the same task with other content
-- is a replay and refused. Written in the transaction of the state change it asks for.
CREATE TABLE km_requests (
  task_no text PRIMARY KEY,
  -- The certificate that signed it: the issuer id of a 'ca-km' or 'ra' certificate, and its serial.
  caller_id text NOT NULL REFERENCES issuers (id),
  caller_serial text NOT NULL,
  ca_name text NOT NULL,
  -- SM3 of the request's content without requestTime.
  body_digest bytea NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  -- KMRespond DER, once built; a request whose answer was lost in a crash has none, and its
  -- repeat builds it again from the escrow.
  response bytea
);
