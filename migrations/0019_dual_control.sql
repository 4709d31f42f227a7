-- Dual control (m-of-n) of the CA-level actions: revoking a certificate of the hierarchy,
-- rotating the RA key, creating a subordinate CA, signing with a CA key outside issuance (given
-- bytes, or a cross-certificate for another CA's key, and its revocation).

-- Super administrators (operator_roles, 0016) request and approve them.

-- One requested action. `digest` is SM3 over the canonical JSON of {kind, parameters}: what the
-- approvers saw and what the CA recomputes before it acts.
CREATE TABLE ca_actions (
  id bigserial PRIMARY KEY,
  kind text NOT NULL CHECK (kind IN (
    'revoke_hierarchy_certificate', 'rotate_ra_key', 'create_subordinate_ca', 'sign_with_ca_key',
    'cross_certify', 'revoke_cross_certificate')),
  parameters jsonb NOT NULL,
  digest bytea NOT NULL CHECK (length(digest) = 32),
  requested_by bigint NOT NULL REFERENCES operators (id),
  requested_at timestamptz NOT NULL DEFAULT now(),
  -- m of the m-of-n, fixed when requested (the setting may change later, the CA takes the larger).
  approvals_required integer NOT NULL CHECK (approvals_required >= 2),
  -- Approvals count only before this; an action still pending then has expired.
  expires_at timestamptz NOT NULL,
  state text NOT NULL CHECK (state IN ('pending', 'approved', 'rejected', 'expired', 'executed')),
  decided_at timestamptz,
  executed_at timestamptz,
  -- What the CA did (certificates made, serials revoked, a signature), once executed.
  result jsonb,
  CHECK ((state = 'executed') = (executed_at IS NOT NULL)),
  CHECK (expires_at > requested_at)
);
CREATE INDEX ca_actions_state ON ca_actions (state);

-- One decision per approver and action, bound to the digest the approver saw.
CREATE TABLE ca_action_approvals (
  action_id bigint NOT NULL REFERENCES ca_actions (id),
  approver_id bigint NOT NULL REFERENCES operators (id),
  decision text NOT NULL CHECK (decision IN ('approve', 'reject')),
  digest bytea NOT NULL CHECK (length(digest) = 32),
  reason text,
  decided_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (action_id, approver_id)
);

-- The rules hold whoever writes: nobody decides their own request, nobody decides twice (the
-- primary key), a decision is for the digest the action has, and decisions are never changed.
CREATE FUNCTION ca_action_approval_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE a record;
BEGIN
  IF TG_OP <> 'INSERT' THEN
    RAISE EXCEPTION 'CA action decisions are insert-only' USING ERRCODE = 'insufficient_privilege';
  END IF;
  SELECT requested_by, digest, state, expires_at INTO a FROM ca_actions WHERE id = NEW.action_id;
  IF a.requested_by = NEW.approver_id THEN
    RAISE EXCEPTION 'the requester of CA action % may not decide it', NEW.action_id
      USING ERRCODE = 'check_violation';
  END IF;
  IF a.digest <> NEW.digest THEN
    RAISE EXCEPTION 'the decision on CA action % is for another digest', NEW.action_id
      USING ERRCODE = 'check_violation';
  END IF;
  IF a.state <> 'pending' OR NEW.decided_at >= a.expires_at THEN
    RAISE EXCEPTION 'CA action % is no longer open for decisions', NEW.action_id
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER ca_action_approvals_check BEFORE INSERT OR UPDATE OR DELETE ON ca_action_approvals
  FOR EACH ROW EXECUTE FUNCTION ca_action_approval_check();
