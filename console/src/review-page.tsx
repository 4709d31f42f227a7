import { useEffect, useState } from 'preact/hooks';
import { api } from './api.ts';
import { ApplicationProfileCell } from './application-template.tsx';
import { type Application, formatTime } from './applications.ts';
import { DecisionCell } from './decision-cell.tsx';
import { ErrorLine } from './error-line.tsx';
import { type MessageKey, useT } from './i18n.ts';
import { QueueTable } from './queue-table.tsx';

const kindLabels: Record<Application['kind'], MessageKey> = {
  new: 'kindNew',
  renewal: 'kindRenewal',
  rekey: 'kindRekey',
};

function ReviewRow({
  application,
  me,
  onDecided,
}: {
  application: Application;
  me: string;
  onDecided: () => void;
}) {
  const { t, lang } = useT();
  return (
    <tr class={application.overdue ? 'overdue' : ''} data-application={application.id}>
      <td>{application.id}</td>
      <td data-testid="application-kind">
        {t(kindLabels[application.kind])}
        {application.kind === 'rekey' && <small class="muted block">{t('rekeyApprovalRevokes')}</small>}
      </td>
      <td>
        {application.holder.commonName}
        {application.holder.organization ? ` · ${application.holder.organization}` : ''}
      </td>
      <ApplicationProfileCell application={application} />
      <td>{application.enteredBy}</td>
      <td>
        {formatTime(application.deadline, lang)}
        {application.overdue && <strong class="badge">{t('overdue')}</strong>}
      </td>
      <DecisionCell
        path={`/v1/applications/${application.id}/review`}
        own={application.enteredBy === me}
        onDecided={onDecided}
      />
    </tr>
  );
}

export function ReviewPage({ me }: { me: string }) {
  const { t } = useT();
  const [items, setItems] = useState<Application[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const load = () =>
    api<{ items: Application[] }>('GET', '/v1/applications?status=submitted&limit=100')
      .then((answer) => setItems(answer.items))
      .catch(setError);
  useEffect(() => {
    load();
  }, []);
  return (
    <main>
      <h1>{t('reviewHeading')}</h1>
      <button type="button" class="secondary" onClick={load}>
        {t('refresh')}
      </button>
      <ErrorLine error={error} />
      <QueueTable
        items={items}
        empty="nothingToReview"
        columns={['#', 'kind', 'holder', 'profile', 'enteredBy', 'deadline', '']}
        row={(application) => (
          <ReviewRow key={application.id} application={application} me={me} onDecided={load} />
        )}
      />
    </main>
  );
}
