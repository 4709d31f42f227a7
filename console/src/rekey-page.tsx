import { useState } from 'preact/hooks';
import { CertificateFields, certificateOf } from './certificate-fields.tsx';
import { CsrFields } from './csr-fields.tsx';
import { DeskHolderFields, deskHolderBody, noDeskHolder } from './desk-holder-fields.tsx';
import { RequestForm } from './request-form.tsx';
import { useRequestSubmission } from './request-submission.tsx';

/**
 * An entry clerk enters a re-key after the holder's key was compromised: a request for a new key
 * pair and the holder as checked at the desk, since the compromised key vouches for nobody. The
 * reviewer decides it in the application queue; approval revokes the certificate (keyCompromise)
 * and the certificate maker issues its replacement.
 */
export function RekeyPage({ query }: { query: URLSearchParams }) {
  const [certificate, setCertificate] = useState(certificateOf(query));
  const [csr, setCsr] = useState('');
  const [holder, setHolder] = useState(noDeskHolder);
  const submission = useRequestSubmission('/v1/rekeys', () => ({
    ...certificate,
    csr,
    holder: deskHolderBody(holder),
  }));
  return (
    <RequestForm heading="rekeyHeading" hint="rekeyHint" submission={submission} testId="rekey-id">
      <CertificateFields value={certificate} onChange={setCertificate} />
      <CsrFields value={csr} onChange={setCsr} />
      <DeskHolderFields legend="rekeyHolder" required value={holder} onChange={setHolder} />
    </RequestForm>
  );
}
