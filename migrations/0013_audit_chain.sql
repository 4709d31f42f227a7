-- The tamper-evident audit trail. Writers keep inserting into audit_log as before; a sealer
-- (packages/platform/src/audit-trail) later gives each row its place in one SM3 hash chain.
-- It seals only rows whose inserting transaction is older than every running one
-- (xid < pg_snapshot_xmin), in (xid, id) order: no transaction can still add a row that would
-- sort before one already sealed, so a position once given is final.
ALTER TABLE audit_log ADD COLUMN xid xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX audit_log_chain_order ON audit_log (xid, id);
CREATE INDEX audit_log_at ON audit_log (at);

-- hash = SM3(prev_hash ‖ seq as 8 bytes big-endian ‖ canonical bytes of the record);
-- prev_hash of seq 1 is 32 zero bytes. No foreign key to audit_log: a verifier must be able to
-- name a chained record that has gone missing, not be stopped by a constraint.
CREATE TABLE audit_chain (
  seq bigint PRIMARY KEY CHECK (seq > 0),
  audit_id bigint NOT NULL UNIQUE,
  -- The sealer's cursor (the inserting transaction of the record); not hashed.
  xid xid8 NOT NULL,
  prev_hash bytea NOT NULL CHECK (length(prev_hash) = 32),
  hash bytea NOT NULL CHECK (length(hash) = 32),
  sealed_at timestamptz NOT NULL DEFAULT now()
);

-- A signed statement "the chain had head `head` at `seq`", by the audit key in the device.
CREATE TABLE audit_checkpoints (
  id bigserial PRIMARY KEY,
  seq bigint NOT NULL CHECK (seq >= 0),
  head bytea NOT NULL CHECK (length(head) = 32),
  at timestamptz NOT NULL,
  issuer_id text NOT NULL REFERENCES issuers (id),
  signature bytea NOT NULL,
  made_by text NOT NULL
);
CREATE INDEX audit_checkpoints_seq ON audit_checkpoints (seq);

-- The dedicated audit key (label 'audit') gets an issuers row like the RA's; 'km' and 'ca-km'
-- come with the KM (0009). Whatever CHECK on kind an earlier migration left, by any name, goes.
DO $$
DECLARE c record;
BEGIN
  FOR c IN SELECT conname FROM pg_constraint
            WHERE conrelid = 'issuers'::regclass AND contype = 'c'
              AND pg_get_constraintdef(oid) LIKE '%kind%'
  LOOP
    EXECUTE format('ALTER TABLE issuers DROP CONSTRAINT %I', c.conname);
  END LOOP;
END
$$;
ALTER TABLE issuers ADD CONSTRAINT issuers_kind_check
  CHECK (kind IN ('root', 'subordinate', 'ra', 'ocsp', 'km', 'ca-km', 'audit'));

-- Insert-only, whoever connects. Per-service database roles without UPDATE/DELETE grants on
-- these tables come with the least-privilege roles; a superuser can still disable triggers,
-- which is what the chain and the signed checkpoints are there to reveal.
CREATE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit records are insert-only: % on % refused', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER audit_log_insert_only BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_chain_insert_only BEFORE UPDATE OR DELETE ON audit_chain
  FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_chain_no_truncate BEFORE TRUNCATE ON audit_chain
  FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_checkpoints_insert_only BEFORE UPDATE OR DELETE ON audit_checkpoints
  FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
  FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();

-- Wakes the sealer; delivered at commit, once per inserting statement.
CREATE FUNCTION audit_log_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('audit_log', '');
  RETURN NULL;
END
$$;
CREATE TRIGGER audit_log_notify AFTER INSERT ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_notify();
