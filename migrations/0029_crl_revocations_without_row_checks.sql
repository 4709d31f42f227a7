-- crl_revocations loses its foreign keys. PostgreSQL checks a foreign key with one trigger
-- query per inserted row, and the first CRL of an issuer with a million revoked certificates
-- inserts a million rows: the three checks took longer than building and signing the CRL.
-- The rows need no such check: only the CRL publisher writes them, in the transaction that
-- archives the CRL they name, selecting them from the certificates table itself.
ALTER TABLE crl_revocations DROP CONSTRAINT crl_revocations_issuer_id_serial_fkey;
ALTER TABLE crl_revocations DROP CONSTRAINT crl_revocations_issuer_id_first_crl_number_fkey;
ALTER TABLE crl_revocations DROP CONSTRAINT crl_revocations_issuer_id_cleared_crl_number_fkey;

-- Nearly every row is current (only a release from hold clears one), so the partial index of
-- current rows held what the primary key's issuer_id prefix already finds, at the price of a
-- second index insert per row.
DROP INDEX crl_revocations_current;
