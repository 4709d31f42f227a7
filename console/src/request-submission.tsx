import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api } from './api.ts';
import { ErrorLine } from './error-line.tsx';
import { useT } from './i18n.ts';

/**
 * A form that enters one request at the RA: `submit` posts the body `build` makes to `path`;
 * the number the RA gave it, or its refusal, is then shown where `outcome(testId)` is placed.
 */
export interface RequestSubmission {
  submit: (event: Event) => Promise<void>;
  outcome: (testId: string) => JSX.Element;
}

export function useRequestSubmission(path: string, build: () => unknown): RequestSubmission {
  const [error, setError] = useState<unknown>(null);
  const [created, setCreated] = useState<string | null>(null);
  const submit = async (event: Event) => {
    event.preventDefault();
    setError(null);
    setCreated(null);
    try {
      setCreated((await api<{ id: string }>('POST', path, build())).id);
    } catch (err) {
      setError(err);
    }
  };
  const outcome = (testId: string) => <SubmissionOutcome created={created} error={error} testId={testId} />;
  return { submit, outcome };
}

function SubmissionOutcome({
  created,
  error,
  testId,
}: {
  created: string | null;
  error: unknown;
  testId: string;
}) {
  const { t } = useT();
  return (
    <>
      {created && (
        <p class="ok" role="status">
          {t('submitted')} <strong data-testid={testId}>{created}</strong>
        </p>
      )}
      <ErrorLine error={error} />
    </>
  );
}
