import { useState } from 'preact/hooks';
import { api } from './api.ts';
import { ErrorLine } from './error-line.tsx';
import { useT } from './i18n.ts';

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
  const [error, setError] = useState<unknown>(null);
  const [created, setCreated] = useState<string | null>(null);
  const submit = async (event: Event) => {
    event.preventDefault();
    setError(null);
    setCreated(null);
    try {
      const answer = await api<{ id: string }>('POST', '/v1/revocations', {
        issuerId,
        serial,
        reason,
        requestedBy,
      });
      setCreated(answer.id);
    } catch (err) {
      setError(err);
    }
  };
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
      {created && (
        <p class="ok" role="status">
          {t('submitted')} <strong data-testid="revocation-id">{created}</strong>
        </p>
      )}
      <ErrorLine error={error} />
    </main>
  );
}
