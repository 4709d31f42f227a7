-- Templates under names of their own: a business administrator drafts "tax-bureau-staff" as a
-- person-sign template, its body naming the kind (packages/pki certificate-template.ts) so every
-- rule that depends on the kind still applies. An application keeps its kind in `profile` and
-- names the template it is issued under in `template`. A dual application also names the
-- approved template version its encryption twin is issued under.
ALTER TABLE certificate_templates ADD CONSTRAINT certificate_templates_name
  CHECK (name ~ '^[a-z][a-z0-9]*(-[a-z0-9]+)*$' AND length(name) <= 64);

ALTER TABLE applications
  ADD COLUMN template text,
  ADD COLUMN encryption_template text,
  ADD COLUMN encryption_template_version integer;
-- Until now each template had its kind's name, and every twin was the kind's seeded version 1.
UPDATE applications SET template = profile,
  encryption_template = CASE WHEN dual THEN replace(profile, '-sign', '-encrypt') END,
  encryption_template_version = CASE WHEN dual THEN 1 END;

-- An application that names no template is under its kind's own, as every one was before 0030.
CREATE FUNCTION application_template_default() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.template := COALESCE(NEW.template, NEW.profile);
  RETURN NEW;
END $$;
CREATE TRIGGER application_template_default BEFORE INSERT ON applications
  FOR EACH ROW EXECUTE FUNCTION application_template_default();

ALTER TABLE applications ALTER COLUMN template SET NOT NULL,
  DROP CONSTRAINT applications_template,
  ADD CONSTRAINT applications_template FOREIGN KEY (template, template_version)
    REFERENCES certificate_templates (name, version),
  ADD CONSTRAINT applications_encryption_template FOREIGN KEY (encryption_template, encryption_template_version)
    REFERENCES certificate_templates (name, version),
  ADD CONSTRAINT applications_encryption_template_dual
    CHECK (dual = (encryption_template IS NOT NULL) AND dual = (encryption_template_version IS NOT NULL));
