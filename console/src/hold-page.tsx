import { useState } from 'preact/hooks';
import { CertificateFields, certificateOf } from './certificate-fields.tsx';
import { useT } from './i18n.ts';
import { RequestForm } from './request-form.tsx';
import { useRequestSubmission } from './request-submission.tsx';
import { RequestedByField } from './requested-by-field.tsx';

/**
 * An entry clerk's request to freeze (certificateHold) or unfreeze a certificate. Both are
 * revocation requests at the RA and are reviewed in the revocation queue.
 */
export function HoldPage({ query }: { query: URLSearchParams }) {
  const { t } = useT();
  const [certificate, setCertificate] = useState(certificateOf(query));
  const [action, setAction] = useState<'freezes' | 'unfreezes'>(
    query.get('action') === 'unfreeze' ? 'unfreezes' : 'freezes',
  );
  const [requestedBy, setRequestedBy] = useState('');
  const [includeTwin, setIncludeTwin] = useState(false);
  const submission = useRequestSubmission(`/v1/${action}`, () => ({
    ...certificate,
    requestedBy,
    includeTwin,
  }));
  return (
    <RequestForm heading="holdHeading" submission={submission} testId="hold-id">
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
      <RequestedByField value={requestedBy} onChange={setRequestedBy} />
      <label class="check">
        <input
          type="checkbox"
          name="includeTwin"
          checked={includeTwin}
          onChange={(e) => setIncludeTwin(e.currentTarget.checked)}
        />
        {t('includeTwin')}
      </label>
    </RequestForm>
  );
}
