-- What the directory (LDAP) publisher still has to write, filled by triggers so every item is
-- written in the transaction of the state change it reflects: an issuance the RA records, a
-- status change the CA stores, a CRL archived, a CA certificate made. An item names what
-- changed, not what to write: the publisher reads the current state when it publishes, so an
-- item published late or twice still leaves the directory right.
CREATE TABLE directory_outbox (
  id bigserial PRIMARY KEY,
  kind text NOT NULL CHECK (kind IN ('certificate', 'ca_certificate', 'crl')),
  issuer_id text NOT NULL,
  serial text,
  crl_number bigint,
  -- The directory entry the item changes (a holder's subject, a CA): the items of one entry
  -- are published in id order, and one that fails holds back the later ones of its entry only.
  entry_key text NOT NULL,
  enqueued_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  last_error text,
  -- Kept once published: when each certificate and CRL reached the directory.
  published_at timestamptz,
  CHECK ((kind = 'certificate') = (serial IS NOT NULL)),
  CHECK ((kind = 'crl') = (crl_number IS NOT NULL))
);
CREATE INDEX directory_outbox_pending ON directory_outbox (id) WHERE published_at IS NULL;
CREATE INDEX directory_outbox_published ON directory_outbox (published_at) WHERE published_at IS NOT NULL;

-- Consent is the application's (publish_consent); a certificate without an application (RA,
-- OCSP signer, KM certificates) is the CA's own business and is not published as a holder's.
CREATE FUNCTION directory_consents(issuer text, cert_serial text) RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT EXISTS (
    SELECT FROM applications
     WHERE status = 'issued' AND publish_consent AND issuer_id = issuer
       AND (serial = cert_serial OR encryption_serial = cert_serial)
  )
$$;

CREATE FUNCTION directory_enqueue_certificate(issuer text, cert_serial text) RETURNS void
LANGUAGE sql AS $$
  INSERT INTO directory_outbox (kind, issuer_id, serial, entry_key)
  SELECT 'certificate', issuer_id, serial, 'holder:' || subject
    FROM certificates WHERE issuer_id = issuer AND serial = cert_serial;
  SELECT pg_notify('directory_outbox', '');
$$;

-- The RA marks an application issued after the CA stored its certificates: that is when the
-- consent and the certificates meet.
CREATE FUNCTION directory_on_application_issued() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.status = 'issued' AND OLD.status IS DISTINCT FROM 'issued' AND NEW.publish_consent THEN
    PERFORM directory_enqueue_certificate(NEW.issuer_id, NEW.serial);
    IF NEW.encryption_serial IS NOT NULL THEN
      PERFORM directory_enqueue_certificate(NEW.issuer_id, NEW.encryption_serial);
    END IF;
  END IF;
  RETURN NULL;
END;
$$;
CREATE TRIGGER directory_application_issued AFTER UPDATE OF status ON applications
  FOR EACH ROW EXECUTE FUNCTION directory_on_application_issued();

-- Revoked, suspended or released from hold: the holder entry loses or regains the certificate.
CREATE FUNCTION directory_on_certificate_status() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.status <> 'planned' AND NEW.status <> OLD.status AND directory_consents(NEW.issuer_id, NEW.serial) THEN
    PERFORM directory_enqueue_certificate(NEW.issuer_id, NEW.serial);
  END IF;
  RETURN NULL;
END;
$$;
CREATE TRIGGER directory_certificate_status AFTER UPDATE OF status ON certificates
  FOR EACH ROW EXECUTE FUNCTION directory_on_certificate_status();

CREATE FUNCTION directory_on_crl() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO directory_outbox (kind, issuer_id, crl_number, entry_key)
  VALUES ('crl', NEW.issuer_id, NEW.crl_number, 'ca:' || NEW.issuer_id);
  PERFORM pg_notify('directory_outbox', '');
  RETURN NULL;
END;
$$;
CREATE TRIGGER directory_crl AFTER INSERT ON crls FOR EACH ROW EXECUTE FUNCTION directory_on_crl();

CREATE FUNCTION directory_on_issuer() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.kind IN ('root', 'subordinate') THEN
    INSERT INTO directory_outbox (kind, issuer_id, entry_key) VALUES ('ca_certificate', NEW.id, 'ca:' || NEW.id);
    PERFORM pg_notify('directory_outbox', '');
  END IF;
  RETURN NULL;
END;
$$;
CREATE TRIGGER directory_issuer AFTER INSERT ON issuers FOR EACH ROW EXECUTE FUNCTION directory_on_issuer();

-- What an installation had before the directory: CA certificates, the consented certificates
-- still valid, the current CRLs.
INSERT INTO directory_outbox (kind, issuer_id, entry_key)
SELECT 'ca_certificate', id, 'ca:' || id FROM issuers WHERE kind IN ('root', 'subordinate') ORDER BY created_at;
INSERT INTO directory_outbox (kind, issuer_id, serial, entry_key)
SELECT 'certificate', c.issuer_id, c.serial, 'holder:' || c.subject
  FROM certificates c
 WHERE c.status = 'good' AND directory_consents(c.issuer_id, c.serial)
 ORDER BY c.issued_at;
INSERT INTO directory_outbox (kind, issuer_id, crl_number, entry_key)
SELECT 'crl', issuer_id, max(crl_number), 'ca:' || issuer_id FROM crls GROUP BY issuer_id, kind ORDER BY 2;
