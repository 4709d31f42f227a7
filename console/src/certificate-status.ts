import type { MessageKey } from './i18n.ts';

const statusLabels: Record<string, MessageKey> = {
  good: 'statusGood',
  revoked: 'statusRevoked',
  hold: 'statusHold',
};

/** A certificate's status as the operator reads it; an expired certificate reads as expired whatever its status. */
export const certificateStatusLabel = (status: string, expired: boolean, t: (key: MessageKey) => string) =>
  expired ? t('expired') : statusLabels[status] ? t(statusLabels[status]!) : status;
