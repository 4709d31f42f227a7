-- One database role per service, holding only what that service's code reads and writes.
-- Roles are cluster-wide while migrations run per database, so they are created only when
-- missing and made NOLOGIN here: `sm2ca start` gives each one LOGIN and its own password.
-- The grants are per database. Audit tables are INSERT and SELECT only for every service:
-- no grant lets an application role UPDATE, DELETE or TRUNCATE an audit record, whatever the
-- triggers of 0013 do. A new table's migration grants what each service needs (migrations/README.md).
DO $$
DECLARE service text;
BEGIN
  FOREACH service IN ARRAY ARRAY['ra', 'ca', 'km', 'ocsp', 'crl'] LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'sm2ca_' || service) THEN
      BEGIN
        EXECUTE format('CREATE ROLE %I NOLOGIN', 'sm2ca_' || service);
      EXCEPTION WHEN duplicate_object OR unique_violation THEN
        -- Another database of the cluster migrating at the same moment created it.
        NULL;
      END;
    END IF;
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), 'sm2ca_' || service);
    EXECUTE format('GRANT USAGE ON SCHEMA public TO %I', 'sm2ca_' || service);
  END LOOP;
END
$$;

-- Every service: the migration check at start-up, the issuers and certificates it answers
-- for, operator authentication (every service has operator routes), and the audit trail
-- (recordAudit, and the sealer each service carries).
GRANT SELECT ON schema_migrations, issuers, certificates, operators, operator_roles, operator_sessions
  TO sm2ca_ra, sm2ca_ca, sm2ca_km, sm2ca_ocsp, sm2ca_crl;
GRANT SELECT, INSERT ON audit_log, audit_chain, audit_checkpoints
  TO sm2ca_ra, sm2ca_ca, sm2ca_km, sm2ca_ocsp, sm2ca_crl;

-- RA: enrolment, revocation and recovery workflows, downloads, operator administration and
-- login, and the dual-control requests it collects. It locks certificate rows (FOR SHARE),
-- which PostgreSQL allows only with an UPDATE grant on some column: status is the one the
-- lock protects, and the RA never writes it (only the CA does).
GRANT SELECT ON certificate_events, crls, crl_revocations, certified_keys, compromised_keys,
  profile_lifecycle
  TO sm2ca_ra;
GRANT UPDATE (status) ON certificates TO sm2ca_ra;
GRANT SELECT, INSERT, UPDATE ON operators, applications, download_codes, revocation_requests,
  key_recoveries, judicial_recoveries, judicial_recovery_decisions, operator_certificates,
  operator_totp, login_challenges, operator_role_changes, operator_sessions, ca_actions
  TO sm2ca_ra;
GRANT SELECT, INSERT ON certificate_archive, ca_action_approvals TO sm2ca_ra;
GRANT SELECT, INSERT, UPDATE, DELETE ON login_failures TO sm2ca_ra;
GRANT SELECT, INSERT, DELETE ON operator_roles TO sm2ca_ra;
-- The directory triggers of 0014 on applications queue entries as the updating role.
GRANT SELECT, INSERT ON directory_outbox TO sm2ca_ra;

-- CA: issuance, status changes and their outbox, key reuse, the KM's certificates and
-- revocations, and executing approved CA actions.
GRANT SELECT ON applications, crls, ca_action_approvals TO sm2ca_ca;
GRANT INSERT ON issuers TO sm2ca_ca;
GRANT INSERT, UPDATE ON certificates TO sm2ca_ca;
GRANT SELECT, INSERT, UPDATE ON ca_requests, certified_keys, km_certificates, km_key_revocations
  TO sm2ca_ca;
GRANT SELECT, INSERT ON certificate_events, compromised_keys TO sm2ca_ca;
GRANT SELECT, UPDATE ON ca_actions TO sm2ca_ca;
-- The directory triggers of 0014 on issuers and certificates queue entries as the CA.
GRANT SELECT, INSERT ON directory_outbox TO sm2ca_ca;

-- KM: its key pool and request ledger; applications and certificates to check callers.
GRANT SELECT ON applications TO sm2ca_km;
GRANT SELECT, INSERT, UPDATE ON km_keys, km_requests TO sm2ca_km;

-- OCSP: status events to follow, and its own pre-signed responses.
GRANT SELECT ON certificate_events TO sm2ca_ocsp;
GRANT SELECT, INSERT, UPDATE ON ocsp_responses TO sm2ca_ocsp;
GRANT USAGE ON SEQUENCE ocsp_response_version TO sm2ca_ocsp;

-- CRL: numbering, the archive (insert-only), the revocation lists, and the directory outbox
-- it publishes from (the trigger on crls queues as the CRL service; directory_consents reads
-- the holders' publication consent from applications).
GRANT SELECT ON applications TO sm2ca_crl;
GRANT SELECT, INSERT, UPDATE ON crl_numbers, crl_revocations, directory_outbox TO sm2ca_crl;
GRANT SELECT, INSERT ON crls TO sm2ca_crl;

-- The serial sequences of the tables a role may insert into.
DO $$
DECLARE r record;
BEGIN
  FOR r IN
    SELECT DISTINCT g.grantee, s.seq
      FROM information_schema.role_table_grants g
      JOIN information_schema.columns c ON c.table_schema = g.table_schema AND c.table_name = g.table_name
     CROSS JOIN LATERAL (SELECT pg_get_serial_sequence(quote_ident(c.table_name), c.column_name) AS seq) s
     WHERE g.table_schema = 'public' AND g.privilege_type = 'INSERT' AND g.grantee LIKE 'sm2ca\_%'
       AND s.seq IS NOT NULL
  LOOP
    EXECUTE format('GRANT USAGE ON SEQUENCE %s TO %I', r.seq, r.grantee);
  END LOOP;
END
$$;
