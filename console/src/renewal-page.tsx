import { useState } from 'preact/hooks';
import { CertificateFields, type CertificateRef } from './certificate-fields.tsx';
import { useT } from './i18n.ts';
import { useRequestSubmission } from './request-submission.tsx';

/**
 * An entry clerk enters a renewal: a request for the current key (same-key renewal, where the
 * profile allows it) or a new key countersigned by the current one; without either, the holder
 * as checked at the desk. The RA decides which evidence suffices; the reviewer then decides the
 * renewal in the application queue.
 */
export function RenewalPage({ query }: { query: URLSearchParams }) {
  const { t } = useT();
  const [certificate, setCertificate] = useState<CertificateRef>({
    issuerId: query.get('issuerId') ?? '',
    serial: query.get('serial') ?? '',
  });
  const [csr, setCsr] = useState('');
  const [currentKeySignature, setCurrentKeySignature] = useState('');
  const [commonName, setCommonName] = useState('');
  const [residentId, setResidentId] = useState('');
  const [uscc, setUscc] = useState('');
  const { submit, outcome } = useRequestSubmission('/v1/renewals', () => {
    const identity = residentId ? { residentId } : uscc ? { unifiedSocialCreditCode: uscc } : undefined;
    return {
      ...certificate,
      csr,
      ...(currentKeySignature ? { currentKeySignature } : {}),
      ...(commonName ? { holder: { commonName, ...(identity ? { identity } : {}) } } : {}),
    };
  });
  const readCsrFile = async (input: HTMLInputElement) => {
    const file = input.files?.[0];
    if (file) setCsr(await file.text());
  };
  return (
    <main>
      <h1>{t('renewalHeading')}</h1>
      <form onSubmit={submit}>
        <CertificateFields value={certificate} onChange={setCertificate} />
        <label>
          {t('csr')}
          <textarea name="csr" rows={6} required value={csr} onInput={(e) => setCsr(e.currentTarget.value)} />
        </label>
        <label>
          {t('csrFile')}
          <input type="file" name="csrFile" onChange={(e) => readCsrFile(e.currentTarget)} />
        </label>
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
        <fieldset>
          <legend>{t('deskHolder')}</legend>
          <label>
            {t('commonName')}
            <input
              name="commonName"
              value={commonName}
              onInput={(e) => setCommonName(e.currentTarget.value)}
            />
          </label>
          <label>
            {t('residentId')}
            <input
              name="residentId"
              value={residentId}
              onInput={(e) => setResidentId(e.currentTarget.value.trim().toUpperCase())}
            />
          </label>
          <label>
            {t('uscc')}
            <input
              name="uscc"
              value={uscc}
              onInput={(e) => setUscc(e.currentTarget.value.trim().toUpperCase())}
            />
          </label>
        </fieldset>
        <button type="submit">{t('submit')}</button>
      </form>
      {outcome('renewal-id')}
    </main>
  );
}
