-- Every public key ever certified, bound to one holder and one purpose. The CA claims
-- the row in the statement that plans a certificate, so the primary key decides between
-- two issuances of one key at once: the second waits for the first, then finds the key
-- taken by another holder or purpose and is refused. The same holder certifying the same
-- key for the same purpose again (a renewal) finds its own row and goes ahead.
CREATE TABLE certified_keys (
  -- SHA-256 of the SubjectPublicKeyInfo DER as the CA encodes it.
  spki_sha256 bytea PRIMARY KEY CHECK (length(spki_sha256) = 32),
  -- The RA's holder key (identifier type and value); 'subject:' and the subject name for
  -- a certificate whose instruction named no holder key.
  holder text NOT NULL,
  purpose text NOT NULL CHECK (purpose IN ('signature', 'encryption')),
  first_issuer_id text NOT NULL,
  first_serial text NOT NULL,
  certified_at timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (first_issuer_id, first_serial) REFERENCES certificates (issuer_id, serial)
);

-- The size of the DER element at pos (zero-based): its header and content lengths.
-- This and the next function serve only the backfill below and are dropped after it.
CREATE FUNCTION migration_der_size(der bytea, pos int, OUT header int, OUT content int)
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
  first int := get_byte(der, pos + 1);
BEGIN
  IF first < 128 THEN
    header := 2;
    content := first;
    RETURN;
  END IF;
  header := 2 + (first & 127);
  content := 0;
  FOR i IN 1 .. (first & 127) LOOP
    content := content * 256 + get_byte(der, pos + 1 + i);
  END LOOP;
END;
$$;

-- The SubjectPublicKeyInfo of a TBSCertificate: what follows the optional [0] version,
-- the serial, signature, issuer, validity and subject.
CREATE FUNCTION migration_tbs_spki(tbs bytea) RETURNS bytea LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
  pos int := (migration_der_size(tbs, 0)).header;
  element record;
BEGIN
  IF get_byte(tbs, pos) = 160 THEN
    element := migration_der_size(tbs, pos);
    pos := pos + element.header + element.content;
  END IF;
  FOR i IN 1 .. 5 LOOP
    element := migration_der_size(tbs, pos);
    pos := pos + element.header + element.content;
  END LOOP;
  element := migration_der_size(tbs, pos);
  RETURN substring(tbs FROM pos + 1 FOR element.header + element.content);
END;
$$;

-- Keys certified before this migration, each bound to the holder and purpose of its first
-- certificate. Keys already certified to several holders keep those certificates (they are
-- issued); only new certificates are refused.
INSERT INTO certified_keys (spki_sha256, holder, purpose, first_issuer_id, first_serial, certified_at)
SELECT DISTINCT ON (digest) digest, holder, purpose, issuer_id, serial, planned_at
  FROM (
    SELECT sha256(migration_tbs_spki(c.tbs)) AS digest,
           coalesce(c.holder_key, a.holder_key, 'subject:' || c.subject) AS holder,
           CASE WHEN c.profile IN ('person-encrypt', 'organization-encrypt', 'device-encrypt')
                THEN 'encryption' ELSE 'signature' END AS purpose,
           c.issuer_id, c.serial, c.planned_at
      FROM certificates c
      LEFT JOIN applications a ON a.issuer_id = c.issuer_id AND a.serial = c.serial
     WHERE c.request_id NOT LIKE 'ceremony:%'
  ) issued
 ORDER BY digest, planned_at, serial;

DROP FUNCTION migration_tbs_spki(bytea);
DROP FUNCTION migration_der_size(bytea, int);
