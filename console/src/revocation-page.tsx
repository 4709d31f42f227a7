import { useState } from 'preact/hooks';
import { CertificateFields, type CertificateRef } from './certificate-fields.tsx';
import { useT } from './i18n.ts';
import { useRequestSubmission } from './request-submission.tsx';

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

export function RevocationPage() {
  const { t } = useT();
  const [certificate, setCertificate] = useState<CertificateRef>({ issuerId: '', serial: '' });
  const [reason, setReason] = useState<string>('keyCompromise');
  const [requestedBy, setRequestedBy] = useState('');
  const { submit, outcome } = useRequestSubmission('/v1/revocations', () => ({
    ...certificate,
    reason,
    requestedBy,
  }));
  return (
    <main>
      <h1>{t('revocationHeading')}</h1>
      <form onSubmit={submit}>
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
        <label>
          {t('requestedBy')}
          <input
            name="requestedBy"
            required
            maxLength={200}
            value={requestedBy}
            onInput={(e) => setRequestedBy(e.currentTarget.value)}
          />
        </label>
        <button type="submit">{t('submit')}</button>
      </form>
      {outcome('revocation-id')}
    </main>
  );
}
