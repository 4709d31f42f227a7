import { useState } from 'preact/hooks';
import { CertificateFields, certificateOf } from './certificate-fields.tsx';
import { useT } from './i18n.ts';
import { RequestForm } from './request-form.tsx';
import { useRequestSubmission } from './request-submission.tsx';
import { RequestedByField } from './requested-by-field.tsx';

/** RFC 5280 CRLReason names a revocation may give; the RA checks the choice again. */
const reasons = [
  'unspecified',
  'keyCompromise',
  'affiliationChanged',
  'superseded',
  'cessationOfOperation',
  'certificateHold',
  'privilegeWithdrawn',
] as const;

export function RevocationPage({ query }: { query: URLSearchParams }) {
  const { t } = useT();
  const [certificate, setCertificate] = useState(certificateOf(query));
  const [reason, setReason] = useState<string>('keyCompromise');
  const [requestedBy, setRequestedBy] = useState('');
  const submission = useRequestSubmission('/v1/revocations', () => ({
    ...certificate,
    reason,
    requestedBy,
  }));
  return (
    <RequestForm heading="revocationHeading" submission={submission} testId="revocation-id">
      <CertificateFields value={certificate} onChange={setCertificate} />
      <label>
        {t('revocationReason')}
        <select name="reason" value={reason} onChange={(e) => setReason(e.currentTarget.value)}>
          {reasons.map((r) => (
            <option key={r} value={r}>
              {r}
            </option>
          ))}
        </select>
      </label>
      <RequestedByField value={requestedBy} onChange={setRequestedBy} />
    </RequestForm>
  );
}
