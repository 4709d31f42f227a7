import { useEffect, useState } from 'preact/hooks';
import { api } from './api.ts';
import { formatTime } from './applications.ts';
import { CertificateName } from './certificate-fields.tsx';
import { DecisionCell } from './decision-cell.tsx';
import { ErrorLine } from './error-line.tsx';
import { useT } from './i18n.ts';
import { documentTypes } from './key-recovery-page.tsx';
import { OnceOnlyCode } from './once-only-code.tsx';
import { QueueTable } from './queue-table.tsx';

interface KeyRecovery {
  id: string;
  status: string;
  issuerId: string;
  serial: string;
  holderKey: string;
  identityCheck: {
    requester: string;
    document: { documentType: string; documentNumber: string };
    method: string;
    agentAuthorisation?: string;
  };
  enteredBy: string;
  enteredAt: string;
  failure: { code: string; message: string } | null;
  download?: { reference: string; code: string; expiresAt: string };
}

/**
 * The reviewer's queue of key recoveries. Approval makes the RA ask KM for the key at once; its
 * answer carries the holder's one-time download code, shown here once. A recovery KM did not
 * answer stays approved and is asked for again from here.
 */
export function KeyRecoveryReviewPage({ me }: { me: string }) {
  const { t, lang } = useT();
  const [items, setItems] = useState<KeyRecovery[] | null>(null);
  const [released, setReleased] = useState<KeyRecovery | null>(null);
  const [error, setError] = useState<unknown>(null);
  const load = () =>
    Promise.all(
      ['submitted', 'approved'].map((status) =>
        api<{ items: KeyRecovery[] }>('GET', `/v1/key-recoveries?status=${status}&limit=100`),
      ),
    )
      .then((answers) => setItems(answers.flatMap((answer) => answer.items)))
      .catch(setError);
  useEffect(() => {
    load();
  }, []);
  const decided = (answer: unknown) => {
    const recovery = answer as KeyRecovery;
    if (recovery.download) setReleased(recovery);
    load();
  };
  const release = async (id: string) => {
    setError(null);
    try {
      decided(await api('POST', `/v1/key-recoveries/${id}/release`));
    } catch (err) {
      setError(err);
      load();
    }
  };
  return (
    <main>
      <h1>{t('keyRecoveryReviewHeading')}</h1>
      <button type="button" class="secondary" onClick={load}>
        {t('refresh')}
      </button>
      {released?.download && (
        <OnceOnlyCode
          heading="keyReleasedHeading"
          fields={[
            { label: '#', value: released.id },
            { label: 'reference', value: released.download.reference, testId: 'recovery-reference' },
            { label: 'code', value: released.download.code, testId: 'recovery-code' },
          ]}
        />
      )}
      <ErrorLine error={error} />
      <QueueTable
        items={items}
        empty="nothingToReview"
        columns={['#', 'certificate', 'holder', 'identityChecked', 'enteredBy', '']}
        row={(item) => {
          const doc = item.identityCheck.document;
          return (
            <tr key={item.id} data-key-recovery={item.id}>
              <td>{item.id}</td>
              <td>
                <CertificateName issuerId={item.issuerId} serial={item.serial} />
              </td>
              <td>{item.holderKey}</td>
              <td>
                {item.identityCheck.requester === 'agent' ? t('requesterAgent') : t('requesterHolder')} ·{' '}
                {documentTypes[doc.documentType] ? t(documentTypes[doc.documentType]!) : doc.documentType}{' '}
                {doc.documentNumber} · {item.identityCheck.method}
              </td>
              <td>
                {item.enteredBy} · {formatTime(item.enteredAt, lang)}
              </td>
              {item.status === 'submitted' ? (
                <DecisionCell
                  path={`/v1/key-recoveries/${item.id}/review`}
                  own={item.enteredBy === me}
                  onDecided={decided}
                />
              ) : (
                <td>
                  {item.failure && (
                    <span class="muted">
                      {item.failure.message} ({item.failure.code})
                    </span>
                  )}
                  <button type="button" onClick={() => release(item.id)}>
                    {t('askKmAgain')}
                  </button>
                </td>
              )}
            </tr>
          );
        }}
      />
    </main>
  );
}
