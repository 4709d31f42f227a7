import { useState } from 'preact/hooks';
import { api } from './api.ts';
import { formatTime } from './applications.ts';
import { AuditExportForm } from './audit-export-form.tsx';
import { AuditVerification } from './audit-verification.tsx';
import { ErrorLine } from './error-line.tsx';
import { useT } from './i18n.ts';

interface AuditRecord {
  id: string;
  at: string;
  actor: string;
  actorRole: string;
  action: string;
  subjectType: string;
  subjectId: string;
  seq: number | null;
}

/**
 * The auditor's page: search the trail, verify the chain, export a range. Reading, verifying and
 * exporting are each on record (the RA audits them).
 */
export function AuditPage() {
  const { t, lang } = useT();
  const [actor, setActor] = useState('');
  const [action, setAction] = useState('');
  const [items, setItems] = useState<AuditRecord[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const search = async (event: Event) => {
    event.preventDefault();
    setError(null);
    const query = new URLSearchParams({ limit: '100' });
    if (actor) query.set('actor', actor);
    if (action) query.set('action', action);
    try {
      setItems((await api<{ items: AuditRecord[] }>('GET', `/v1/audit/records?${query}`)).items);
    } catch (err) {
      setError(err);
    }
  };
  return (
    <main>
      <h1>{t('auditHeading')}</h1>
      <form onSubmit={search} class="inline">
        <label>
          {t('actor')}
          <input name="actor" value={actor} onInput={(e) => setActor(e.currentTarget.value.trim())} />
        </label>
        <label>
          {t('action')}
          <input
            name="action"
            placeholder="certificate."
            value={action}
            onInput={(e) => setAction(e.currentTarget.value.trim())}
          />
        </label>
        <button type="submit">{t('search')}</button>
      </form>
      <ErrorLine error={error} />
      {items && (
        <table>
          <thead>
            <tr>
              <th>{t('time')}</th>
              <th>{t('actor')}</th>
              <th>{t('action')}</th>
              <th>{t('subjectOfRecord')}</th>
              <th>{t('chainPlace')}</th>
            </tr>
          </thead>
          <tbody>
            {items.map((r) => (
              <tr key={r.id} data-action={r.action}>
                <td>{formatTime(r.at, lang)}</td>
                <td>
                  {r.actor} ({r.actorRole})
                </td>
                <td>
                  <code>{r.action}</code>
                </td>
                <td>
                  {r.subjectType} {r.subjectId}
                </td>
                <td>{r.seq ?? '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <AuditVerification />
      <AuditExportForm />
    </main>
  );
}
