import { useState } from 'preact/hooks';
import { CertificateFields, certificateOf } from './certificate-fields.tsx';
import { type MessageKey, useT } from './i18n.ts';
import { RequestForm } from './request-form.tsx';
import { useRequestSubmission } from './request-submission.tsx';

/** The identity documents the RA accepts (recovery-schemas.ts), with their names on screen. */
export const documentTypes: Record<string, MessageKey> = {
  resident_id_card: 'docResidentIdCard',
  passport: 'docPassport',
  mainland_travel_permit: 'docMainlandTravelPermit',
  foreign_permanent_residence_card: 'docForeignPermanentResidence',
  military_officer_card: 'docMilitaryOfficerCard',
  business_licence: 'docBusinessLicence',
  other: 'docOther',
};

/**
 * An entry clerk records a holder's request to recover their encryption key, with the identity
 * check done at the desk. The RA finds the holder's signature certificate the key is enveloped
 * to and refuses when there is none.
 */
export function KeyRecoveryPage({ query }: { query: URLSearchParams }) {
  const { t } = useT();
  const [certificate, setCertificate] = useState(certificateOf(query));
  const [requester, setRequester] = useState<'holder' | 'agent'>('holder');
  const [documentType, setDocumentType] = useState('resident_id_card');
  const [documentNumber, setDocumentNumber] = useState('');
  const [method, setMethod] = useState('');
  const [agentAuthorisation, setAgentAuthorisation] = useState('');
  const [note, setNote] = useState('');
  const submission = useRequestSubmission('/v1/key-recoveries', () => ({
    ...certificate,
    identityCheck: {
      requester,
      document: { documentType, documentNumber },
      method,
      ...(requester === 'agent' ? { agentAuthorisation } : {}),
      ...(note ? { note } : {}),
    },
  }));
  return (
    <RequestForm
      heading="keyRecoveryHeading"
      hint="keyRecoveryHint"
      submission={submission}
      testId="key-recovery-id"
    >
      <CertificateFields value={certificate} onChange={setCertificate} />
      <label>
        {t('requester')}
        <select
          name="requester"
          value={requester}
          onChange={(e) => setRequester(e.currentTarget.value as 'holder' | 'agent')}
        >
          <option value="holder">{t('requesterHolder')}</option>
          <option value="agent">{t('requesterAgent')}</option>
        </select>
      </label>
      <label>
        {t('documentType')}
        <select
          name="documentType"
          value={documentType}
          onChange={(e) => setDocumentType(e.currentTarget.value)}
        >
          {Object.entries(documentTypes).map(([value, label]) => (
            <option key={value} value={value}>
              {t(label)}
            </option>
          ))}
        </select>
      </label>
      <label>
        {t('documentNumber')}
        <input
          name="documentNumber"
          required
          maxLength={64}
          value={documentNumber}
          onInput={(e) => setDocumentNumber(e.currentTarget.value.trim())}
        />
      </label>
      <label>
        {t('checkMethod')}
        <input
          name="method"
          required
          maxLength={200}
          placeholder={t('checkMethodExample')}
          value={method}
          onInput={(e) => setMethod(e.currentTarget.value)}
        />
      </label>
      {requester === 'agent' && (
        <label>
          {t('agentAuthorisation')}
          <textarea
            name="agentAuthorisation"
            required
            maxLength={1000}
            value={agentAuthorisation}
            onInput={(e) => setAgentAuthorisation(e.currentTarget.value)}
          />
        </label>
      )}
      <label>
        {t('note')}
        <input name="note" maxLength={1000} value={note} onInput={(e) => setNote(e.currentTarget.value)} />
      </label>
    </RequestForm>
  );
}
