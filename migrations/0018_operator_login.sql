-- Certificate login for operators (issue 11). A person logs in with an operator-sign certificate
-- of ours and a TOTP code and gets a short-lived session; bearer credentials stay for automation
-- accounts only. Rows already here were all using bearer credentials, so they stay automation
-- until an administrator enrols them for certificate login.
ALTER TABLE operators ADD COLUMN kind text NOT NULL DEFAULT 'automation'
  CHECK (kind IN ('person', 'automation'));

-- Which certificates an operator may log in with (several across a renewal).
CREATE TABLE operator_certificates (
  issuer_id text NOT NULL,
  serial text NOT NULL,
  operator_id bigint NOT NULL REFERENCES operators (id),
  bound_at timestamptz NOT NULL DEFAULT now(),
  bound_by text NOT NULL,
  PRIMARY KEY (issuer_id, serial),
  FOREIGN KEY (issuer_id, serial) REFERENCES certificates (issuer_id, serial)
);
CREATE INDEX operator_certificates_serial ON operator_certificates (serial);
CREATE INDEX operator_certificates_operator ON operator_certificates (operator_id);

-- The TOTP secret sealed (SM4-CTR + HMAC-SM3, the operator id bound in) under a key kept outside
-- the database, so a reader of this table alone cannot compute codes. last_step makes each code
-- single-use.
CREATE TABLE operator_totp (
  operator_id bigint PRIMARY KEY REFERENCES operators (id),
  sealed_secret bytea NOT NULL,
  last_step bigint,
  created_at timestamptz NOT NULL
);

-- A challenge is signed once: used_at is set by the first login attempt, whatever its outcome.
CREATE TABLE login_challenges (
  digest bytea PRIMARY KEY CHECK (length(digest) = 32),
  operator_id bigint NOT NULL REFERENCES operators (id),
  issuer_id text NOT NULL,
  serial text NOT NULL,
  created_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  used_at timestamptz,
  FOREIGN KEY (issuer_id, serial) REFERENCES operator_certificates (issuer_id, serial)
);
CREATE INDEX login_challenges_expiry ON login_challenges (expires_at);

-- Session tokens are random and high-entropy: only their SM3 digest is kept.
CREATE TABLE operator_sessions (
  token_digest bytea PRIMARY KEY CHECK (length(token_digest) = 32),
  operator_id bigint NOT NULL REFERENCES operators (id),
  issuer_id text NOT NULL,
  serial text NOT NULL,
  created_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  ended_at timestamptz
);
CREATE INDEX operator_sessions_operator ON operator_sessions (operator_id);

-- Failed logins since the last success; locked_until grows with each failure past the limit.
CREATE TABLE login_failures (
  operator_id bigint PRIMARY KEY REFERENCES operators (id),
  failures integer NOT NULL CHECK (failures >= 0),
  last_failure_at timestamptz NOT NULL,
  locked_until timestamptz
);
