-- Split-custody backups of CA keys (`sm2ca key backup`) and their restores (`sm2ca key restore`).
-- Neither the key nor any share is kept here: the wrapped key travels in the backup file and each
-- share with its custodian. The rows say which key was backed up, among whom, and where it came back.
CREATE TABLE key_backups (
  id uuid PRIMARY KEY,
  issuer_id text NOT NULL REFERENCES issuers (id),
  key_label text NOT NULL,
  -- SubjectPublicKeyInfo DER: a restore must give back exactly this key.
  public_key bytea NOT NULL,
  threshold integer NOT NULL CHECK (threshold >= 2),
  custodians text[] NOT NULL CHECK (cardinality(custodians) BETWEEN threshold AND 255),
  wrapping text NOT NULL,
  -- HMAC of the SM4 key: tells a wrong reconstruction from a right one without revealing the key.
  check_value bytea NOT NULL,
  created_by text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE key_restores (
  id bigserial PRIMARY KEY,
  backup_id uuid NOT NULL REFERENCES key_backups (id),
  token_label text NOT NULL,
  token_serial text NOT NULL,
  key_label text NOT NULL,
  -- The custodians whose shares were combined.
  custodians text[] NOT NULL CHECK (cardinality(custodians) >= 2),
  restored_by text NOT NULL,
  restored_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX key_restores_backup ON key_restores (backup_id);
