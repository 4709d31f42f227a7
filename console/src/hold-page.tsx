import { useState } from 'preact/hooks';
import { CertificateFields, type CertificateRef } from './certificate-fields.tsx';
import { useT } from './i18n.ts';
import { useRequestSubmission } from './request-submission.tsx';

/**
 * An entry clerk's request to freeze (certificateHold) or unfreeze a certificate. Both are
 * revocation requests at the RA and are reviewed in the revocation queue.
 */
export function HoldPage({ query }: { query: URLSearchParams }) {
  const { t } = useT();
  const [certificate, setCertificate] = useState<CertificateRef>({
    issuerId: query.get('issuerId') ?? '',
    serial: query.get('serial') ?? '',
  });
  const [action, setAction] = useState<'freezes' | 'unfreezes'>(
    query.get('action') === 'unfreeze' ? 'unfreezes' : 'freezes',
  );
  const [requestedBy, setRequestedBy] = useState('');
  const [includeTwin, setIncludeTwin] = useState(false);
  const { submit, outcome } = useRequestSubmission(`/v1/${action}`, () => ({
    ...certificate,
    requestedBy,
    includeTwin,
  }));
  return (
    <main>
      <h1>{t('holdHeading')}</h1>
      <form onSubmit={submit}>
        <label>
          {t('holdAction')}
          <select
            name="holdAction"
            value={action}
            onChange={(e) => setAction(e.currentTarget.value as 'freezes' | 'unfreezes')}
          >
            <option value="freezes">{t('freeze')}</option>
            <option value="unfreezes">{t('release')}</option>
          </select>
        </label>
        <CertificateFields value={certificate} onChange={setCertificate} />
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
        <label class="check">
          <input
            type="checkbox"
            name="includeTwin"
            checked={includeTwin}
            onChange={(e) => setIncludeTwin(e.currentTarget.checked)}
          />
          {t('includeTwin')}
        </label>
        <button type="submit">{t('submit')}</button>
      </form>
      {outcome('hold-id')}
    </main>
  );
}
