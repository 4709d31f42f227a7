-- cRLNumber per CA issuer, shared by its full and delta CRLs (RFC 5280 5.2.3). The
-- publisher bumps the row in the transaction that archives the CRL, so the row lock
-- orders publications and even two publishers at once cannot take one number twice.
CREATE TABLE crl_numbers (
  issuer_id text PRIMARY KEY REFERENCES issuers (id),
  last_number bigint NOT NULL CHECK (last_number > 0)
);

-- Every CRL ever published, as signed. Kept at least 10 years: there is no delete path,
-- and the trigger below refuses changes and deletions outright.
CREATE TABLE crls (
  issuer_id text NOT NULL REFERENCES issuers (id),
  crl_number bigint NOT NULL CHECK (crl_number > 0),
  kind text NOT NULL CHECK (kind IN ('full', 'delta')),
  base_crl_number bigint,
  this_update timestamptz NOT NULL,
  next_update timestamptz NOT NULL,
  entry_count integer NOT NULL,
  der bytea NOT NULL,
  sm3 bytea NOT NULL CHECK (length(sm3) = 32),
  published_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  publisher text NOT NULL,
  PRIMARY KEY (issuer_id, crl_number),
  CHECK ((kind = 'delta') = (base_crl_number IS NOT NULL)),
  CHECK (base_crl_number < crl_number),
  CHECK (next_update > this_update AND next_update <= this_update + interval '24 hours')
);
CREATE INDEX crls_latest ON crls (issuer_id, kind, crl_number DESC);

CREATE FUNCTION crls_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'published CRLs are archived for at least 10 years and never changed or deleted';
END;
$$;
CREATE TRIGGER crls_no_update_or_delete BEFORE UPDATE OR DELETE ON crls
  FOR EACH ROW EXECUTE FUNCTION crls_append_only();
CREATE TRIGGER crls_no_truncate BEFORE TRUNCATE ON crls
  FOR EACH STATEMENT EXECUTE FUNCTION crls_append_only();

-- One row per revocation or suspension a CRL carried: which CRL carried it first (the
-- "revocation decided → on the published CRL within 24 hours" figure) and which CRL was
-- the first without it (released from hold). Delta CRLs are computed from these rows.
CREATE TABLE crl_revocations (
  issuer_id text NOT NULL,
  serial text NOT NULL,
  status text NOT NULL CHECK (status IN ('revoked', 'hold')),
  revoked_at timestamptz NOT NULL,
  first_crl_number bigint NOT NULL,
  first_published_at timestamptz NOT NULL,
  cleared_crl_number bigint,
  PRIMARY KEY (issuer_id, serial, status, revoked_at),
  FOREIGN KEY (issuer_id, serial) REFERENCES certificates (issuer_id, serial),
  FOREIGN KEY (issuer_id, first_crl_number) REFERENCES crls (issuer_id, crl_number),
  FOREIGN KEY (issuer_id, cleared_crl_number) REFERENCES crls (issuer_id, crl_number),
  CHECK (cleared_crl_number > first_crl_number)
);
CREATE INDEX crl_revocations_current ON crl_revocations (issuer_id) WHERE cleared_crl_number IS NULL;

-- Full CRLs read every revoked or suspended certificate of an issuer.
CREATE INDEX certificates_on_crl ON certificates (issuer_id, serial) WHERE status IN ('revoked', 'hold');
