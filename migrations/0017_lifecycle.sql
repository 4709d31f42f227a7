-- Certificate lifecycle after issuance: renewal, re-key, release from hold and the archive.

-- What each certificate profile allows at renewal. A same-key renewal certifies the key of the
-- current certificate again (the holder keeps their token); supersede says what becomes of the
-- certificate a renewal replaces: revoked with reason superseded as soon as the new one is
-- issued, or left to run out (servers swap certificates on their own schedule).
CREATE TABLE profile_lifecycle (
  profile text PRIMARY KEY,
  same_key_renewal boolean NOT NULL,
  supersede text NOT NULL CHECK (supersede IN ('revoke', 'expire'))
);
INSERT INTO profile_lifecycle (profile, same_key_renewal, supersede) VALUES
  ('person-sign', true, 'revoke'),
  ('person-encrypt', false, 'revoke'),
  ('organization-sign', true, 'revoke'),
  ('organization-encrypt', false, 'revoke'),
  ('device-sign', true, 'revoke'),
  ('device-encrypt', false, 'revoke'),
  ('tls-server', true, 'expire'),
  ('tls-device', true, 'expire');

-- A renewal or re-key is an application for a certificate that replaces another: entered,
-- reviewed and issued as a new one. The policy (supersede) is fixed when it is entered;
-- holder_evidence records how the holder was identified (their signature under the current
-- certificate's key, verified at entry, or an identity check at the desk).
ALTER TABLE applications
  ADD COLUMN kind text NOT NULL DEFAULT 'new' CHECK (kind IN ('new', 'renewal', 'rekey')),
  ADD COLUMN replaces_issuer_id text,
  ADD COLUMN replaces_serial text,
  ADD COLUMN supersede text CHECK (supersede IN ('revoke', 'expire')),
  ADD COLUMN holder_evidence jsonb,
  ADD CONSTRAINT applications_replaces CHECK (
    (kind = 'new') = (replaces_serial IS NULL)
    AND (replaces_serial IS NULL) = (replaces_issuer_id IS NULL)
    AND (replaces_serial IS NULL) = (supersede IS NULL)
    AND (replaces_serial IS NULL) = (holder_evidence IS NULL)
  ),
  ADD CONSTRAINT applications_replaces_certificate
    FOREIGN KEY (replaces_issuer_id, replaces_serial) REFERENCES certificates (issuer_id, serial);

-- A certificate is replaced once: one open or issued renewal or re-key at a time.
CREATE UNIQUE INDEX applications_replaces_once ON applications (replaces_issuer_id, replaces_serial)
  WHERE replaces_serial IS NOT NULL AND status IN ('submitted', 'approved', 'issued');

-- A release from hold goes through the same entry, review and CA instruction as a revocation.
-- application_id: the renewal or re-key whose review decided this revocation (superseded,
-- keyCompromise); there is one per application.
ALTER TABLE revocation_requests
  ADD COLUMN kind text NOT NULL DEFAULT 'revoke' CHECK (kind IN ('revoke', 'release')),
  ADD COLUMN application_id bigint UNIQUE REFERENCES applications (id),
  ADD CONSTRAINT revocation_requests_release_reason CHECK ((kind = 'release') = (reason = 'removeFromCRL'));

-- Certificates past their active life: expired, or revoked, for longer than the retention
-- period. Nothing moves or is deleted: the certificate, its CRL entries and the holder's
-- application stay where they are, and this row marks them archived and says until when the
-- holder's records must be kept (the regulations: 5 years after expiry, 10 for government bodies).
CREATE TABLE certificate_archive (
  issuer_id text NOT NULL,
  serial text NOT NULL,
  archived_at timestamptz NOT NULL DEFAULT now(),
  reason text NOT NULL CHECK (reason IN ('expired', 'revoked')),
  holder_key text,
  government boolean NOT NULL,
  retain_until timestamptz NOT NULL,
  PRIMARY KEY (issuer_id, serial),
  FOREIGN KEY (issuer_id, serial) REFERENCES certificates (issuer_id, serial)
);
CREATE INDEX certificate_archive_retain ON certificate_archive (retain_until);

-- Keys one of whose certificates was revoked for keyCompromise: never certified again, not even
-- to the same holder. The CA records the key in the revocation's transaction; the RA and the
-- CA refuse it (beside certified_keys, whose holder and purpose binding this does not change).
CREATE TABLE compromised_keys (
  spki_sha256 bytea PRIMARY KEY CHECK (length(spki_sha256) = 32),
  issuer_id text NOT NULL,
  serial text NOT NULL,
  compromised_at timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (issuer_id, serial) REFERENCES certificates (issuer_id, serial)
);

-- The query routes look certificates up by these.
CREATE INDEX certificates_not_after ON certificates (not_after);
CREATE INDEX certificates_profile ON certificates (profile);
