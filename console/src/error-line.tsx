import { ApiError } from './api.ts';
import { useT } from './i18n.ts';

/** A refusal as the operator reads it: the RA's message, and its code for the help desk. */
export function ErrorLine({ error }: { error: unknown }) {
  const { t } = useT();
  if (!error) return null;
  const text = error instanceof ApiError ? `${error.message} (${error.code})` : String(error);
  return (
    <p class="error" role="alert">
      {t('errorPrefix')}: {text}
    </p>
  );
}
