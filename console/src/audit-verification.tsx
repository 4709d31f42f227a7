import { useState } from 'preact/hooks';
import { api } from './api.ts';
import { ErrorLine } from './error-line.tsx';
import { type MessageKey, useT } from './i18n.ts';

interface Problem {
  seq?: number;
  auditId?: string;
  message: string;
}

interface Verification {
  intact: boolean;
  records: number;
  lastSeq: number;
  head: string;
  checkpointsVerified: number;
  problems: Problem[];
  strays: Problem[];
  pending: number;
}

const figures: Array<[MessageKey, 'records' | 'checkpointsVerified' | 'pending']> = [
  ['chainRecords', 'records'],
  ['checkpointsVerified', 'checkpointsVerified'],
  ['pendingRecords', 'pending'],
];

/** Problems shown at most: the first is where the auditor starts, the RA lists up to 50. */
const SHOWN = 10;

/** The RA recomputes the whole SM3 chain against the signed checkpoints, as `sm2ca audit verify` does. */
export function AuditVerification() {
  const { t } = useT();
  const [result, setResult] = useState<Verification | null>(null);
  const [running, setRunning] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const verify = async () => {
    setError(null);
    setResult(null);
    setRunning(true);
    try {
      setResult(await api<Verification>('GET', '/v1/audit/verification'));
    } catch (err) {
      setError(err);
    } finally {
      setRunning(false);
    }
  };
  const problems = result ? [...result.problems, ...result.strays] : [];
  return (
    <section aria-labelledby="audit-verify-heading">
      <h2 id="audit-verify-heading">{t('verifyHeading')}</h2>
      <button type="button" onClick={verify} disabled={running}>
        {running ? t('verifying') : t('verifyChain')}
      </button>
      <ErrorLine error={error} />
      <div role="status" aria-live="polite">
        {result && (
          <div data-intact={String(result.intact)}>
            <p class={result.intact ? 'ok' : 'error'}>
              <strong>{result.intact ? t('chainIntact') : t('chainBroken')}</strong>
            </p>
            <dl class="figures">
              {figures.map(([label, value]) => (
                <div class="figure" key={label}>
                  <dt>{t(label)}</dt>
                  <dd data-figure={label}>{result[value]}</dd>
                </div>
              ))}
            </dl>
            <p>
              {t('chainHead')}: <code data-figure="chainHead">{result.head}</code>
            </p>
            {problems.length > 0 && (
              <ol class="problems">
                {problems.slice(0, SHOWN).map((p) => (
                  <li key={`${p.seq}/${p.auditId}/${p.message}`}>
                    {p.seq !== undefined
                      ? `${t('chainPlace')} ${p.seq}: `
                      : `${t('strayRecord')} ${p.auditId ?? ''}: `}
                    {p.message}
                  </li>
                ))}
              </ol>
            )}
          </div>
        )}
      </div>
    </section>
  );
}
