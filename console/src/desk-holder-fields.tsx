import { type MessageKey, useT } from './i18n.ts';

/** The holder as the clerk checked them at the desk and enters them again for a renewal or re-key. */
export interface DeskHolder {
  commonName: string;
  residentId: string;
  uscc: string;
}

export const noDeskHolder: DeskHolder = { commonName: '', residentId: '', uscc: '' };

/** The holder as the RA's holder schema takes it; none when no name was entered. */
export function deskHolderBody(holder: DeskHolder) {
  if (!holder.commonName) return undefined;
  const identity = holder.residentId
    ? { residentId: holder.residentId }
    : holder.uscc
      ? { unifiedSocialCreditCode: holder.uscc }
      : undefined;
  return { commonName: holder.commonName, ...(identity ? { identity } : {}) };
}

/** The RA compares them with the current certificate's holder and refuses another one. */
export function DeskHolderFields({
  legend,
  required = false,
  value,
  onChange,
}: {
  legend: MessageKey;
  required?: boolean;
  value: DeskHolder;
  onChange: (next: DeskHolder) => void;
}) {
  const { t } = useT();
  const field = (name: keyof DeskHolder, label: MessageKey, upper: boolean) => (
    <label>
      {t(label)}
      <input
        name={name}
        required={required && name === 'commonName'}
        value={value[name]}
        onInput={(e) => {
          const text = upper ? e.currentTarget.value.trim().toUpperCase() : e.currentTarget.value;
          onChange({ ...value, [name]: text });
        }}
      />
    </label>
  );
  return (
    <fieldset>
      <legend>{t(legend)}</legend>
      {field('commonName', 'commonName', false)}
      {field('residentId', 'residentId', true)}
      {field('uscc', 'uscc', true)}
    </fieldset>
  );
}
