import type { ComponentChildren } from 'preact';
import { type MessageKey, useT } from './i18n.ts';
import type { RequestSubmission } from './request-submission.tsx';

/**
 * The page of a form that enters one request at the RA: its heading, an optional hint, the
 * fields one per row, the submit button, then the number the RA gave it or its refusal.
 */
export function RequestForm({
  heading,
  hint,
  submission,
  testId,
  children,
}: {
  heading: MessageKey;
  hint?: MessageKey;
  submission: RequestSubmission;
  /** Names the created request's number on screen. */
  testId: string;
  children: ComponentChildren;
}) {
  const { t } = useT();
  return (
    <main>
      <h1>{t(heading)}</h1>
      <form onSubmit={submission.submit}>
        {hint && <p class="hint">{t(hint)}</p>}
        {children}
        <button type="submit">{t('submit')}</button>
      </form>
      {submission.outcome(testId)}
    </main>
  );
}
