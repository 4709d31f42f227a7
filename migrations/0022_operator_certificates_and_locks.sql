-- An operator's own (operator-sign) certificate names the operator it is for from its
-- application on, so the super admin who decides on it, its renewal, freeze, unfreeze or
-- revocation can be told apart from the operator concerned. Applications entered before this
-- have no operator; the one a certificate is bound to for login (operator_certificates) stands in.
ALTER TABLE applications ADD COLUMN operator_id bigint REFERENCES operators (id);
UPDATE applications a SET operator_id = oc.operator_id
  FROM operator_certificates oc
 WHERE a.profile = 'operator-sign' AND oc.issuer_id = a.issuer_id AND oc.serial = a.serial;
CREATE INDEX applications_operator ON applications (operator_id) WHERE operator_id IS NOT NULL;

-- The RA share-locks a certificate row while it decides on it (a revocation, a replacement), so
-- the status it read holds until it commits. PostgreSQL lets FOR SHARE only a role with UPDATE on
-- the table; this function, owned by the migration owner, takes the lock for the RA instead, so
-- the RA holds no UPDATE on certificates at all. search_path is pinned against shadowing.
CREATE FUNCTION lock_certificate_for_share(p_issuer_id text, p_serial text) RETURNS void
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS
$$
BEGIN
  PERFORM 1 FROM public.certificates WHERE issuer_id = p_issuer_id AND serial = p_serial FOR SHARE;
END
$$;
REVOKE ALL ON FUNCTION lock_certificate_for_share(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lock_certificate_for_share(text, text) TO sm2ca_ra;
REVOKE UPDATE (status) ON certificates FROM sm2ca_ra;
