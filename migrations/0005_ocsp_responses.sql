-- Pre-signed OCSP responses: one per certificate and CertID hash algorithm, rewritten
-- (not kept) when the certificate's status changes or the response nears its nextUpdate.
-- Only the leading responder (advisory lock) writes here; every replica serves them.
CREATE SEQUENCE ocsp_response_version;

CREATE TABLE ocsp_responses (
  issuer_id text NOT NULL,
  serial text NOT NULL,
  hash_algorithm text NOT NULL CHECK (hash_algorithm IN ('sha1', 'sha256', 'sm3')),
  -- The certificate state the response states: the id of the certificate's latest
  -- status event (0 when it has none). Per certificate these ids grow in commit order,
  -- since every status change locks the certificate row before it writes its event;
  -- replicas compare them to never replace a newer state with an older one.
  event_id bigint NOT NULL,
  status text NOT NULL CHECK (status IN ('good', 'revoked', 'hold')),
  revoked_at timestamptz,
  revocation_reason text,
  signer_id text NOT NULL REFERENCES issuers (id),
  this_update timestamptz NOT NULL,
  next_update timestamptz NOT NULL,
  der bytea NOT NULL,
  -- Taken from the sequence on every write: replicas that missed notifications read
  -- the rows written after the last version they hold.
  version bigint NOT NULL DEFAULT nextval('ocsp_response_version'),
  PRIMARY KEY (issuer_id, serial, hash_algorithm),
  FOREIGN KEY (issuer_id, serial) REFERENCES certificates (issuer_id, serial),
  CHECK ((status = 'good') = (revoked_at IS NULL))
);
CREATE INDEX ocsp_responses_next_update ON ocsp_responses (next_update);
CREATE INDEX ocsp_responses_version ON ocsp_responses (version);

-- A certificate's latest status event, and the events of the last minutes after a
-- responder reconnects.
CREATE INDEX certificate_events_certificate ON certificate_events (issuer_id, serial, id);
CREATE INDEX certificate_events_at ON certificate_events (at);
