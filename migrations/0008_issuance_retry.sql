-- Issuance the CA did not complete. An approved application with a CA request id is sent
-- again under that id (the CA answers a known id with its first outcome) once its next
-- attempt is due; a CA refusal that no retry can change ends it as 'failed'.
ALTER TABLE applications DROP CONSTRAINT applications_status_check;
ALTER TABLE applications ADD CONSTRAINT applications_status_check
  CHECK (status IN ('submitted', 'approved', 'rejected', 'issued', 'failed'));

ALTER TABLE applications
  -- CA calls for this application that failed, by a maker or the retrier.
  ADD COLUMN issue_attempts integer NOT NULL DEFAULT 0 CHECK (issue_attempts >= 0),
  -- The last failure as the API shows it (code, message, details, at).
  ADD COLUMN issue_error jsonb,
  -- When the retrier may send the instruction again. Taking an application moves this on
  -- by a lease, so no other RA replica sends it while the CA is still being asked.
  ADD COLUMN next_issue_attempt_at timestamptz;

CREATE INDEX applications_issue_due ON applications (next_issue_attempt_at)
  WHERE status = 'approved' AND ca_request_id IS NOT NULL;

-- Claimed before there was a retrier, and never finished: due now.
UPDATE applications SET next_issue_attempt_at = now()
 WHERE status = 'approved' AND ca_request_id IS NOT NULL;
