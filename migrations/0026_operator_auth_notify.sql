-- A service that keeps recently authenticated operators in memory (the RA) must hear at once of
-- any change to what authentication reads: an operator disabled or their credential rotated,
-- a role granted or taken, a session ended, a login certificate frozen, revoked or archived.
-- Each such statement notifies operator_auth once, at commit; the payload is empty because the
-- listener forgets everything rather than working out who is affected.
CREATE FUNCTION notify_operator_auth() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('operator_auth', '');
  RETURN NULL;
END
$$;

CREATE TRIGGER operators_auth_change AFTER UPDATE OR DELETE OR TRUNCATE ON operators
  FOR EACH STATEMENT EXECUTE FUNCTION notify_operator_auth();
CREATE TRIGGER operator_roles_auth_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON operator_roles
  FOR EACH STATEMENT EXECUTE FUNCTION notify_operator_auth();
CREATE TRIGGER operator_sessions_auth_change AFTER UPDATE OR DELETE OR TRUNCATE ON operator_sessions
  FOR EACH STATEMENT EXECUTE FUNCTION notify_operator_auth();
-- Only a good certificate ceasing to be good can end a login the cache holds (it keeps successes
-- only): issuance (planned → good) and unfreezing must not empty the cache on every certificate.
-- PostgreSQL folds a transaction's identical notifications into one, so a revoked batch sends one.
CREATE TRIGGER certificates_auth_change AFTER UPDATE OF status ON certificates
  FOR EACH ROW WHEN (OLD.status = 'good' AND NEW.status <> 'good')
  EXECUTE FUNCTION notify_operator_auth();
CREATE TRIGGER certificates_auth_removal AFTER DELETE OR TRUNCATE ON certificates
  FOR EACH STATEMENT EXECUTE FUNCTION notify_operator_auth();
