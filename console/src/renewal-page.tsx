import { useState } from 'preact/hooks';
import { CertificateFields, certificateOf } from './certificate-fields.tsx';
import { CsrFields } from './csr-fields.tsx';
import { DeskHolderFields, deskHolderBody, noDeskHolder } from './desk-holder-fields.tsx';
import { useT } from './i18n.ts';
import { RequestForm } from './request-form.tsx';
import { useRequestSubmission } from './request-submission.tsx';

/**
 * An entry clerk enters a renewal: a request for the current key (same-key renewal, where the
 * profile allows it) or a new key countersigned by the current one; without either, the holder
 * as checked at the desk. The RA decides which evidence suffices; the reviewer then decides the
 * renewal in the application queue.
 */
export function RenewalPage({ query }: { query: URLSearchParams }) {
  const { t } = useT();
  const [certificate, setCertificate] = useState(certificateOf(query));
  const [csr, setCsr] = useState('');
  const [currentKeySignature, setCurrentKeySignature] = useState('');
  const [holder, setHolder] = useState(noDeskHolder);
  const submission = useRequestSubmission('/v1/renewals', () => {
    const deskHolder = deskHolderBody(holder);
    return {
      ...certificate,
      csr,
      ...(currentKeySignature ? { currentKeySignature } : {}),
      ...(deskHolder ? { holder: deskHolder } : {}),
    };
  });
  return (
    <RequestForm heading="renewalHeading" submission={submission} testId="renewal-id">
      <CertificateFields value={certificate} onChange={setCertificate} />
      <CsrFields value={csr} onChange={setCsr} />
      <p class="hint">{t('renewalEvidenceHint')}</p>
      <label>
        {t('currentKeySignature')}
        <input
          name="currentKeySignature"
          pattern="[A-Za-z0-9+/]+={0,2}"
          value={currentKeySignature}
          onInput={(e) => setCurrentKeySignature(e.currentTarget.value.trim())}
        />
      </label>
      <DeskHolderFields legend="deskHolder" value={holder} onChange={setHolder} />
    </RequestForm>
  );
}
