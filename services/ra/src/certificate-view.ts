import { type Static, Type } from '@sinclair/typebox';
import { iso, literals, Nullable, Time } from './ra-context.ts';

export const certificateStatuses = ['good', 'revoked', 'hold'] as const;

const Archive = Type.Object(
  {
    archivedAt: Time,
    reason: literals(['expired', 'revoked']),
    retainUntil: Type.String({
      format: 'date-time',
      description:
        "the holder's records are kept at least until then (5 years after expiry, 10 for government bodies)",
    }),
  },
  { description: 'archived: past its active life, kept, still answered for by OCSP and CRLs' },
);

export const CertificateView = Type.Object({
  issuerId: Type.String(),
  serial: Type.String(),
  status: literals(certificateStatuses, {
    description: 'as OCSP answers it; hold is a freeze (certificateHold)',
  }),
  expired: Type.Boolean({ description: 'notAfter has passed' }),
  archive: Nullable(Archive),
  profile: Type.String(),
  subject: Type.String(),
  holderKey: Nullable(Type.String()),
  applicationId: Nullable(Type.String()),
  twinSerial: Nullable(
    Type.String({
      description: 'the other certificate of a dual-enrollment pair (signature ↔ encryption), same issuer',
    }),
  ),
  replacedBy: Nullable(
    Type.Object(
      { applicationId: Type.String(), kind: literals(['renewal', 'rekey']), serial: Nullable(Type.String()) },
      { description: 'the renewal or re-key, open or issued, that replaces this certificate' },
    ),
  ),
  notBefore: Time,
  notAfter: Time,
  issuedAt: Nullable(Time),
  revokedAt: Nullable(Time),
  revocationReason: Nullable(Type.String()),
});
export type CertificateView = Static<typeof CertificateView>;

// The CA does not learn the RA's holder key; the application that led to a certificate supplies it,
// and for a dual application the certificate's twin. The archive and any replacement are joined in.
export const certificateSelect = `
  SELECT c.*, coalesce(c.holder_key, a.holder_key) AS holder, a.id AS application_id,
         CASE WHEN a.serial = c.serial THEN a.encryption_serial ELSE a.serial END AS twin_serial,
         c.not_after <= now() AS expired,
         x.archived_at, x.reason AS archive_reason, x.retain_until,
         n.id AS replaced_by_id, n.kind AS replaced_by_kind, n.serial AS replaced_by_serial
    FROM certificates c
    LEFT JOIN applications a
      ON a.issuer_id = c.issuer_id AND (a.serial = c.serial OR a.encryption_serial = c.serial)
    LEFT JOIN certificate_archive x ON x.issuer_id = c.issuer_id AND x.serial = c.serial
    LEFT JOIN applications n
      ON n.replaces_issuer_id = c.issuer_id AND n.replaces_serial = c.serial
         AND n.status IN ('submitted', 'approved', 'issued')
   WHERE c.status <> 'planned'`;

type Row = Record<string, unknown>;

export function toCertificateView(row: Row): CertificateView {
  return {
    issuerId: row.issuer_id as string,
    serial: row.serial as string,
    status: row.status as CertificateView['status'],
    expired: row.expired as boolean,
    archive: row.archived_at
      ? {
          archivedAt: iso(row.archived_at)!,
          reason: row.archive_reason as 'expired' | 'revoked',
          retainUntil: iso(row.retain_until)!,
        }
      : null,
    profile: row.profile as string,
    subject: row.subject as string,
    holderKey: (row.holder as string | null) ?? null,
    applicationId: row.application_id == null ? null : String(row.application_id),
    twinSerial: (row.twin_serial as string | null) ?? null,
    replacedBy:
      row.replaced_by_id == null
        ? null
        : {
            applicationId: String(row.replaced_by_id),
            kind: row.replaced_by_kind as 'renewal' | 'rekey',
            serial: (row.replaced_by_serial as string | null) ?? null,
          },
    notBefore: iso(row.not_before)!,
    notAfter: iso(row.not_after)!,
    issuedAt: iso(row.issued_at),
    revokedAt: iso(row.revoked_at),
    revocationReason: (row.revocation_reason as string | null) ?? null,
  };
}
