import { useState } from 'preact/hooks';
import { apiFile } from './api.ts';
import { ErrorLine } from './error-line.tsx';
import { useT } from './i18n.ts';
import { save } from './save-file.ts';

/** A datetime-local value (the operator's own time) as the instant the RA takes. */
const instant = (local: string) => new Date(local).toISOString();

/** A time range of the trail as the RA exports it, saved as JSON lines for `sm2ca audit verify --file`. */
export function AuditExportForm() {
  const { t } = useT();
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const submit = async (event: Event) => {
    event.preventDefault();
    setError(null);
    setBusy(true);
    try {
      const query = new URLSearchParams({ from: instant(from), to: instant(to) });
      const file = await apiFile(`/v1/audit/export?${query}`, 'application/x-ndjson');
      const name = `audit-${from.replace(/[:T]/g, '')}-${to.replace(/[:T]/g, '')}.jsonl`;
      save(name, 'application/x-ndjson', file);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section aria-labelledby="audit-export-heading">
      <h2 id="audit-export-heading">{t('exportHeading')}</h2>
      <form onSubmit={submit} class="inline">
        <label>
          {t('exportFrom')}
          <input
            type="datetime-local"
            name="from"
            required
            value={from}
            onInput={(e) => setFrom(e.currentTarget.value)}
          />
        </label>
        <label>
          {t('exportTo')}
          <input
            type="datetime-local"
            name="to"
            required
            value={to}
            onInput={(e) => setTo(e.currentTarget.value)}
          />
        </label>
        <button type="submit" disabled={busy}>
          {t('exportSave')}
        </button>
      </form>
      <ErrorLine error={error} />
    </section>
  );
}
