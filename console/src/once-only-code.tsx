import { Fragment } from 'preact';
import { type MessageKey, useT } from './i18n.ts';

/**
 * What the RA answered with a holder's one-time download code: shown once, on the page that
 * received it, since the RA keeps only the code's digest.
 */
export function OnceOnlyCode({
  heading,
  fields,
}: {
  heading: MessageKey;
  fields: Array<{ label: MessageKey | '#'; value: string; testId?: string }>;
}) {
  const { t } = useT();
  return (
    <section class="issued" role="status">
      <h2>{t(heading)}</h2>
      <dl>
        {fields.map((field) => (
          <Fragment key={field.label}>
            <dt>{field.label === '#' ? '#' : t(field.label)}</dt>
            <dd data-testid={field.testId}>{field.value}</dd>
          </Fragment>
        ))}
      </dl>
      <p class="hint">{t('onceOnly')}</p>
    </section>
  );
}
