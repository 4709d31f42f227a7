-- The availability monitor's evidence for the 99.9% rule: every probe of a public endpoint as the
-- monitor saw it, and the maintenance windows a business admin announced. Availability per day,
-- month and year is computed from these rows (services/ra/src/availability.ts), never stored.
CREATE TABLE availability_probes (
  id bigserial PRIMARY KEY,
  service text NOT NULL CHECK (service IN ('ra', 'ocsp', 'crl', 'directory')),
  -- What was asked, e.g. the URL probed; for reading the evidence, not for computing.
  target text NOT NULL,
  probed_at timestamptz NOT NULL,
  ok boolean NOT NULL,
  latency_ms integer NOT NULL CHECK (latency_ms >= 0),
  error_code text,
  -- The monitor's interval when it probed: a probe speaks for at most twice this long, so the
  -- time the monitor itself was away counts as unmeasured, not as up or down.
  interval_ms integer NOT NULL CHECK (interval_ms > 0),
  CHECK (ok = (error_code IS NULL))
);
CREATE INDEX availability_probes_by_time ON availability_probes (service, probed_at);

-- Planned maintenance: downtime inside a window is counted apart ("planned"), not as unavailability.
-- A window without a service covers every service. Windows are kept, never edited.
CREATE TABLE maintenance_windows (
  id bigserial PRIMARY KEY,
  service text CHECK (service IN ('ra', 'ocsp', 'crl', 'directory')),
  starts_at timestamptz NOT NULL,
  ends_at timestamptz NOT NULL CHECK (ends_at > starts_at),
  reason text NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
  created_by text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX maintenance_windows_by_time ON maintenance_windows (starts_at, ends_at);

-- The monitor runs as its own role (as 0020 made the others): it keeps measuring when another
-- service is down, and may only read what it probes for and add probes.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'sm2ca_monitor') THEN
    BEGIN
      CREATE ROLE sm2ca_monitor NOLOGIN;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN
      NULL;
    END;
  END IF;
  EXECUTE format('GRANT CONNECT ON DATABASE %I TO sm2ca_monitor', current_database());
END
$$;
GRANT USAGE ON SCHEMA public TO sm2ca_monitor;

-- Monitor: the migration check at start-up, a known certificate and its issuer for the OCSP
-- probe, the issuers whose CRLs it fetches, and its probes.
GRANT SELECT ON schema_migrations, issuers, certificates TO sm2ca_monitor;
GRANT SELECT, INSERT ON availability_probes TO sm2ca_monitor;
GRANT USAGE ON SEQUENCE availability_probes_id_seq TO sm2ca_monitor;
GRANT SELECT ON maintenance_windows TO sm2ca_monitor;

-- RA: the availability evidence and the business admin's maintenance windows.
GRANT SELECT ON availability_probes TO sm2ca_ra;
GRANT SELECT, INSERT ON maintenance_windows TO sm2ca_ra;
GRANT USAGE ON SEQUENCE maintenance_windows_id_seq TO sm2ca_ra;
