import { useState } from 'preact/hooks';
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
  const [issuerId, setIssuerId] = useState('');
  const [serial, setSerial] = useState('');
  const [reason, setReason] = useState<string>('keyCompromise');
  const [requestedBy, setRequestedBy] = useState('');
  const { submit, outcome } = useRequestSubmission('/v1/revocations', () => ({
    issuerId,
    serial,
    reason,
    requestedBy,
  }));
  return (
    <main>
      <h1>{t('revocationHeading')}</h1>
      <form onSubmit={submit}>
        <label>
          {t('issuerId')}
          <input
            name="issuerId"
            required
            value={issuerId}
            onInput={(e) => setIssuerId(e.currentTarget.value.trim())}
          />
        </label>
        <label>
          {t('serial')}
          <input
            name="serial"
            required
            pattern="[0-9A-Fa-f:]{1,64}"
            value={serial}
            onInput={(e) => setSerial(e.currentTarget.value.trim())}
          />
        </label>
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
