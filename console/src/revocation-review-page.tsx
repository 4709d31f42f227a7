import { useEffect, useState } from 'preact/hooks';
import { api } from './api.ts';
import { formatTime } from './applications.ts';
import { CertificateName } from './certificate-fields.tsx';
import { DecisionCell } from './decision-cell.tsx';
import { ErrorLine } from './error-line.tsx';
import { useT } from './i18n.ts';
import { QueueTable } from './queue-table.tsx';

interface Revocation {
  id: string;
  kind: string;
  issuerId: string;
  serial: string;
  reason: string;
  requestedBy: string;
  enteredBy: string;
  enteredAt: string;
}

function RevocationRow({ item, me, onDecided }: { item: Revocation; me: string; onDecided: () => void }) {
  const { t, lang } = useT();
  return (
    <tr data-revocation={item.id}>
      <td>{item.id}</td>
      <td>
        <CertificateName issuerId={item.issuerId} serial={item.serial} />
      </td>
      <td data-testid="revocation-kind">
        {item.kind === 'release'
          ? t('release')
          : item.reason === 'certificateHold'
            ? t('freeze')
            : item.reason}
      </td>
      <td>{item.requestedBy}</td>
      <td>
        {item.enteredBy} · {formatTime(item.enteredAt, lang)}
      </td>
      <DecisionCell
        path={`/v1/revocations/${item.id}/review`}
        own={item.enteredBy === me}
        onDecided={onDecided}
      />
    </tr>
  );
}

export function RevocationReviewPage({ me }: { me: string }) {
  const { t } = useT();
  const [items, setItems] = useState<Revocation[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const load = () =>
    api<{ items: Revocation[] }>('GET', '/v1/revocations?status=submitted&limit=100')
      .then((answer) => setItems(answer.items))
      .catch(setError);
  useEffect(() => {
    load();
  }, []);
  return (
    <main>
      <h1>{t('revocationReviewHeading')}</h1>
      <button type="button" class="secondary" onClick={load}>
        {t('refresh')}
      </button>
      <ErrorLine error={error} />
      <QueueTable
        items={items}
        empty="nothingToReview"
        columns={['#', 'certificate', 'revocationReason', 'requestedBy', 'enteredBy', '']}
        row={(item) => <RevocationRow key={item.id} item={item} me={me} onDecided={load} />}
      />
    </main>
  );
}
