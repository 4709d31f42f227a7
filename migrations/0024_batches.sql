-- Batch issuance: a batch groups applications entered together. Each good row is an ordinary
-- application (reviewed, issued, downloaded and audited as one); a bad row is kept with its
-- stable code so the clerk sees which rows to fix, and never becomes an application.
CREATE TABLE batches (
  id bigserial PRIMARY KEY,
  entered_by bigint NOT NULL REFERENCES operators (id),
  entered_at timestamptz NOT NULL DEFAULT now(),
  format text NOT NULL CHECK (format IN ('json', 'csv')),
  row_count integer NOT NULL CHECK (row_count BETWEEN 1 AND 10000)
);

CREATE TABLE batch_rejected_rows (
  batch_id bigint NOT NULL REFERENCES batches (id),
  row_number integer NOT NULL,
  code text NOT NULL,
  message text NOT NULL,
  PRIMARY KEY (batch_id, row_number)
);

ALTER TABLE applications
  ADD COLUMN batch_id bigint REFERENCES batches (id),
  ADD COLUMN batch_row integer,
  ADD CONSTRAINT applications_batch_row CHECK ((batch_id IS NULL) = (batch_row IS NULL));
CREATE UNIQUE INDEX applications_batch ON applications (batch_id, batch_row) WHERE batch_id IS NOT NULL;

GRANT SELECT, INSERT ON batches, batch_rejected_rows TO sm2ca_ra;
GRANT USAGE ON SEQUENCE batches_id_seq TO sm2ca_ra;
