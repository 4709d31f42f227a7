import { useT } from './i18n.ts';

/** Who asked for a revocation, freeze or unfreeze: the holder, their organisation, the CA, … as the RA records it. */
export function RequestedByField({ value, onChange }: { value: string; onChange: (next: string) => void }) {
  const { t } = useT();
  return (
    <label>
      {t('requestedBy')}
      <input
        name="requestedBy"
        required
        maxLength={200}
        value={value}
        onInput={(e) => onChange(e.currentTarget.value)}
      />
    </label>
  );
}
