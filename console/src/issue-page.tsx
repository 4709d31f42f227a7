import { useEffect, useState } from 'preact/hooks';
import { api } from './api.ts';
import { ApplicationProfileCell } from './application-template.tsx';
import { type Application, formatTime } from './applications.ts';
import { ErrorLine } from './error-line.tsx';
import { useT } from './i18n.ts';
import { OnceOnlyCode } from './once-only-code.tsx';
import { QueueTable } from './queue-table.tsx';

interface Issued {
  issuerId: string;
  serial: string;
  download: { reference: string; code: string };
}

export function IssuePage() {
  const { t, lang } = useT();
  const [items, setItems] = useState<Application[] | null>(null);
  const [issued, setIssued] = useState<Issued | null>(null);
  const [error, setError] = useState<unknown>(null);
  const load = () =>
    api<{ items: Application[] }>('GET', '/v1/applications?status=approved&limit=100')
      .then((answer) => setItems(answer.items))
      .catch(setError);
  useEffect(() => {
    load();
  }, []);
  const issue = async (id: string) => {
    setError(null);
    setIssued(null);
    try {
      setIssued(await api<Issued>('POST', `/v1/applications/${id}/issue`));
      load();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <main>
      <h1>{t('issueHeading')}</h1>
      {issued && (
        <OnceOnlyCode
          heading="issuedHeading"
          fields={[
            { label: 'issuerId', value: issued.issuerId, testId: 'issuer' },
            { label: 'serial', value: issued.serial, testId: 'serial' },
            { label: 'reference', value: issued.download.reference, testId: 'reference' },
            { label: 'code', value: issued.download.code, testId: 'code' },
          ]}
        />
      )}
      <ErrorLine error={error} />
      <QueueTable
        items={items}
        empty="nothingToIssue"
        columns={['#', 'holder', 'profile', 'deadline', '']}
        row={(application) => (
          <tr key={application.id} data-application={application.id}>
            <td>{application.id}</td>
            <td>{application.holder.commonName}</td>
            <ApplicationProfileCell application={application} />
            <td>{formatTime(application.deadline, lang)}</td>
            <td>
              <button type="button" onClick={() => issue(application.id)}>
                {t('issue')}
              </button>
            </td>
          </tr>
        )}
      />
    </main>
  );
}
