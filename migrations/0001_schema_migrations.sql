-- Which numbered migrations have run. A landed file never changes: the runner
-- compares checksums and refuses to start when one differs.
CREATE TABLE schema_migrations (
  version integer PRIMARY KEY,
  name text NOT NULL,
  checksum text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
);
