-- Certificate templates as data: each end-entity profile kind has numbered versions that the
-- business administrator drafts and another administrator approves; only an approved version
-- issues certificates. A version never changes once written (the trigger below): a change is a
-- new version. Retiring an approved version is dual too: one administrator asks, another
-- approves, and from then on no new application names it.
CREATE TABLE certificate_templates (
  name text NOT NULL,
  version integer NOT NULL CHECK (version > 0),
  body jsonb NOT NULL,
  status text NOT NULL CHECK (status IN ('draft', 'approved', 'rejected', 'retired')),
  -- NULL: seeded by this migration from the profiles that used to be fixed in code.
  drafted_by bigint REFERENCES operators (id),
  drafted_at timestamptz NOT NULL DEFAULT now(),
  decided_by bigint REFERENCES operators (id),
  decided_at timestamptz,
  retirement_requested_by bigint REFERENCES operators (id),
  retirement_requested_at timestamptz,
  retired_by bigint REFERENCES operators (id),
  retired_at timestamptz,
  PRIMARY KEY (name, version),
  CONSTRAINT certificate_templates_four_eyes CHECK (decided_by <> drafted_by),
  CONSTRAINT certificate_templates_retirement_four_eyes CHECK (retired_by <> retirement_requested_by),
  CONSTRAINT certificate_templates_decided CHECK ((status = 'draft') = (decided_at IS NULL)),
  CONSTRAINT certificate_templates_retired CHECK ((status = 'retired') = (retired_at IS NOT NULL))
);

-- One draft at a time per template, so two drafts never race for the next version's meaning.
CREATE UNIQUE INDEX certificate_templates_one_draft ON certificate_templates (name) WHERE status = 'draft';

CREATE FUNCTION certificate_template_unchanged() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.name <> OLD.name OR NEW.version <> OLD.version OR NEW.body IS DISTINCT FROM OLD.body
     OR NEW.drafted_by IS DISTINCT FROM OLD.drafted_by THEN
    RAISE EXCEPTION 'certificate template % version % never changes: draft a new version', OLD.name, OLD.version
      USING ERRCODE = 'check_violation';
  END IF;
  IF NEW.status <> OLD.status AND NOT (
       (OLD.status = 'draft' AND NEW.status IN ('approved', 'rejected'))
    OR (OLD.status = 'approved' AND NEW.status = 'retired')) THEN
    RAISE EXCEPTION 'certificate template % version % cannot go from % to %', OLD.name, OLD.version, OLD.status, NEW.status
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER certificate_template_unchanged BEFORE UPDATE ON certificate_templates
  FOR EACH ROW EXECUTE FUNCTION certificate_template_unchanged();

-- The profiles of packages/pki/src/profiles.ts with the renewal rule of profile_lifecycle (0017):
-- approved version 1, so every application and certificate so far has its template.
INSERT INTO certificate_templates (name, version, body, status, decided_at) SELECT name, version, body::jsonb, status, now() FROM (VALUES
  ('person-sign', 1, '{"description":"Signature certificate of a person","validityDays":1826,"keyUsage":["digitalSignature","nonRepudiation"],"extensions":{"required":["2.5.29.35","2.5.29.14","2.5.29.15","2.5.29.31"],"optional":["1.3.6.1.5.5.7.1.1","2.5.29.32","2.5.29.17","2.5.29.37","1.2.156.10260.4.1.1","1.2.156.10260.4.1.2"]},"subject":{"required":["C","CN"],"allowed":["C","ST","L","O","OU","CN","serialNumber"]},"holderTypes":["person"],"identity":["identifyCode","insuranceNumber"],"renewal":{"sameKeyRenewal":true,"supersede":"revoke"}}', 'approved'),
  ('person-encrypt', 1, '{"description":"Encryption certificate of a person","validityDays":1826,"keyUsage":["keyEncipherment","dataEncipherment","keyAgreement"],"extensions":{"required":["2.5.29.35","2.5.29.14","2.5.29.15","2.5.29.31"],"optional":["1.3.6.1.5.5.7.1.1","2.5.29.32","2.5.29.17","2.5.29.37","1.2.156.10260.4.1.1","1.2.156.10260.4.1.2"]},"subject":{"required":["C","CN"],"allowed":["C","ST","L","O","OU","CN","serialNumber"]},"holderTypes":["person"],"identity":["identifyCode","insuranceNumber"],"renewal":{"sameKeyRenewal":false,"supersede":"revoke"}}', 'approved'),
  ('operator-sign', 1, '{"description":"Login certificate of a CA/RA operator (challenge signed under the GM default ID)","validityDays":732,"keyUsage":["digitalSignature"],"extendedKeyUsage":["1.3.6.1.5.5.7.3.2"],"extensions":{"required":["2.5.29.35","2.5.29.14","2.5.29.15","2.5.29.31","2.5.29.37"],"optional":["1.3.6.1.5.5.7.1.1","2.5.29.32","2.5.29.17","2.5.29.37","1.2.156.10260.4.1.1","1.2.156.10260.4.1.2"]},"subject":{"required":["C","CN"],"allowed":["C","ST","L","O","OU","CN","serialNumber"]},"holderTypes":["person"],"identity":["identifyCode","insuranceNumber"]}', 'approved'),
  ('organization-sign', 1, '{"description":"Signature certificate of an organisation","validityDays":1826,"keyUsage":["digitalSignature","nonRepudiation"],"extensions":{"required":["2.5.29.35","2.5.29.14","2.5.29.15","2.5.29.31"],"optional":["1.3.6.1.5.5.7.1.1","2.5.29.32","2.5.29.17","2.5.29.37","1.2.156.10260.4.1.3","1.2.156.10260.4.1.4","1.2.156.10260.4.1.5","1.2.156.10260.4.4"]},"subject":{"required":["C","O","CN"],"allowed":["C","ST","L","O","OU","CN","serialNumber"]},"holderTypes":["organisation"],"identity":["icRegistrationNumber","organizationCode","taxationNumber","unifiedSocialCreditCode"],"renewal":{"sameKeyRenewal":true,"supersede":"revoke"}}', 'approved'),
  ('organization-encrypt', 1, '{"description":"Encryption certificate of an organisation","validityDays":1826,"keyUsage":["keyEncipherment","dataEncipherment","keyAgreement"],"extensions":{"required":["2.5.29.35","2.5.29.14","2.5.29.15","2.5.29.31"],"optional":["1.3.6.1.5.5.7.1.1","2.5.29.32","2.5.29.17","2.5.29.37","1.2.156.10260.4.1.3","1.2.156.10260.4.1.4","1.2.156.10260.4.1.5","1.2.156.10260.4.4"]},"subject":{"required":["C","O","CN"],"allowed":["C","ST","L","O","OU","CN","serialNumber"]},"holderTypes":["organisation"],"identity":["icRegistrationNumber","organizationCode","taxationNumber","unifiedSocialCreditCode"],"renewal":{"sameKeyRenewal":false,"supersede":"revoke"}}', 'approved'),
  ('device-sign', 1, '{"description":"Signature certificate of a device","validityDays":1826,"keyUsage":["digitalSignature","nonRepudiation"],"extensions":{"required":["2.5.29.35","2.5.29.14","2.5.29.15","2.5.29.31"],"optional":["1.3.6.1.5.5.7.1.1","2.5.29.32","2.5.29.17","2.5.29.37"]},"subject":{"required":["C","O","CN"],"allowed":["C","ST","L","O","OU","CN","serialNumber"]},"holderTypes":["device"],"identity":[],"renewal":{"sameKeyRenewal":true,"supersede":"revoke"}}', 'approved'),
  ('device-encrypt', 1, '{"description":"Encryption certificate of a device","validityDays":1826,"keyUsage":["keyEncipherment","dataEncipherment","keyAgreement"],"extensions":{"required":["2.5.29.35","2.5.29.14","2.5.29.15","2.5.29.31"],"optional":["1.3.6.1.5.5.7.1.1","2.5.29.32","2.5.29.17","2.5.29.37"]},"subject":{"required":["C","O","CN"],"allowed":["C","ST","L","O","OU","CN","serialNumber"]},"holderTypes":["device"],"identity":[],"renewal":{"sameKeyRenewal":false,"supersede":"revoke"}}', 'approved'),
  ('tls-server', 1, '{"description":"TLS server","validityDays":398,"keyUsage":["digitalSignature"],"extendedKeyUsage":["1.3.6.1.5.5.7.3.1"],"extensions":{"required":["2.5.29.35","2.5.29.14","2.5.29.15","2.5.29.31","2.5.29.37","2.5.29.17"],"optional":["1.3.6.1.5.5.7.1.1","2.5.29.32","2.5.29.17","2.5.29.37"]},"subject":{"required":["C","O","CN"],"allowed":["C","ST","L","O","OU","CN","serialNumber"]},"holderTypes":["device"],"identity":[],"renewal":{"sameKeyRenewal":true,"supersede":"expire"}}', 'approved'),
  ('tls-device', 1, '{"description":"TLS client and server of a device","validityDays":1826,"keyUsage":["digitalSignature"],"extendedKeyUsage":["1.3.6.1.5.5.7.3.1","1.3.6.1.5.5.7.3.2"],"extensions":{"required":["2.5.29.35","2.5.29.14","2.5.29.15","2.5.29.31","2.5.29.37"],"optional":["1.3.6.1.5.5.7.1.1","2.5.29.32","2.5.29.17","2.5.29.37"]},"subject":{"required":["C","O","CN"],"allowed":["C","ST","L","O","OU","CN","serialNumber"]},"holderTypes":["device"],"identity":[],"renewal":{"sameKeyRenewal":true,"supersede":"expire"}}', 'approved')
) AS seed (name, version, body, status);

-- An application names the template version it was entered under; the CA issues under that one.
ALTER TABLE applications ADD COLUMN template_version integer NOT NULL DEFAULT 1,
  ADD CONSTRAINT applications_template FOREIGN KEY (profile, template_version)
    REFERENCES certificate_templates (name, version);
ALTER TABLE applications ALTER COLUMN template_version DROP DEFAULT;

GRANT SELECT, INSERT, UPDATE ON certificate_templates TO sm2ca_ra;
GRANT SELECT ON certificate_templates TO sm2ca_ca;
-- An approved version's renewal rule becomes its kind's rule (the renewal path reads profile_lifecycle).
GRANT INSERT, UPDATE, DELETE ON profile_lifecycle TO sm2ca_ra;
