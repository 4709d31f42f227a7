-- Operators become persons who may hold several compatible roles (separation of duties is
-- checked when a role is granted, in packages/platform/src/auth/separation-of-duties.ts).
-- identity is what names the person outside this system (a staff ID number), so one person
-- cannot be entered twice under two names.
ALTER TABLE operators ADD COLUMN identity text;
UPDATE operators SET identity = 'legacy-' || id;
ALTER TABLE operators ALTER COLUMN identity SET NOT NULL;
ALTER TABLE operators ADD CONSTRAINT operators_identity_key UNIQUE (identity);

CREATE TABLE operator_roles (
  operator_id bigint NOT NULL REFERENCES operators (id),
  role text NOT NULL CHECK (role IN (
    'super_admin', 'business_admin', 'audit_admin', 'entry_clerk', 'reviewer', 'certificate_maker',
    'auditor', 'key_administrator', 'judicial_officer')),
  granted_at timestamptz NOT NULL DEFAULT now(),
  -- NULL: granted by the key ceremony (the first super admin) or carried over from operators.role.
  granted_by bigint REFERENCES operators (id),
  PRIMARY KEY (operator_id, role)
);
INSERT INTO operator_roles (operator_id, role, granted_at) SELECT id, role, created_at FROM operators;
ALTER TABLE operators DROP COLUMN role;

-- A change of an operator's roles is asked by one administrator and takes effect only when a
-- second, different one approves it.
CREATE TABLE operator_role_changes (
  id bigserial PRIMARY KEY,
  operator_id bigint NOT NULL REFERENCES operators (id),
  roles text[] NOT NULL,
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected')),
  requested_by bigint NOT NULL REFERENCES operators (id),
  requested_at timestamptz NOT NULL DEFAULT now(),
  decided_by bigint REFERENCES operators (id),
  decided_at timestamptz,
  -- The one who asked may withdraw (reject) their request, never approve it.
  CHECK (status <> 'approved' OR decided_by <> requested_by),
  CHECK ((status = 'pending') = (decided_by IS NULL))
);
CREATE INDEX operator_role_changes_pending ON operator_role_changes (operator_id) WHERE status = 'pending';
