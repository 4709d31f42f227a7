import { useState } from 'preact/hooks';
import { api } from './api.ts';
import { ErrorLine } from './error-line.tsx';
import { type MessageKey, useT } from './i18n.ts';

export type Decide = (decision: 'approve' | 'reject', reason: string) => Promise<unknown>;

/**
 * A reviewer's decision on one queue row: approve, or reject with a reason, sent to `path` (or by
 * `send`, for the admin routes that take it another way). The RA refuses a decision on one's own
 * entry anyway (SAME_OPERATOR); saying so (`ownText`) before the click saves a round trip and a
 * refusal on record.
 */
export function DecisionCell({
  path,
  send,
  own,
  ownText = 'ownApplication',
  onDecided,
}: {
  path?: string;
  send?: Decide;
  own: boolean;
  ownText?: MessageKey;
  /** Given the RA's answer, which for a key recovery carries the holder's download code. */
  onDecided: (answer: unknown) => void;
}) {
  const { t } = useT();
  const post: Decide =
    send ?? ((decision, reason) => api('POST', path ?? '', { decision, ...(reason ? { reason } : {}) }));
  const [reason, setReason] = useState('');
  const [error, setError] = useState<unknown>(null);
  const decide = async (decision: 'approve' | 'reject') => {
    setError(null);
    try {
      onDecided(await post(decision, reason));
    } catch (err) {
      setError(err);
    }
  };
  return (
    <td>
      {own ? (
        <span class="muted">{t(ownText)}</span>
      ) : (
        <div class="actions">
          <input
            aria-label={t('reason')}
            placeholder={t('reason')}
            value={reason}
            onInput={(e) => setReason(e.currentTarget.value)}
          />
          <button type="button" onClick={() => decide('approve')}>
            {t('approve')}
          </button>
          <button type="button" class="secondary" onClick={() => decide('reject')}>
            {t('reject')}
          </button>
        </div>
      )}
      <ErrorLine error={error} />
    </td>
  );
}
