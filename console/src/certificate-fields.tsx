import { useT } from './i18n.ts';

export interface CertificateRef {
  issuerId: string;
  serial: string;
}

/** The certificate a page was opened for (`?issuerId=…&serial=…`, from its detail page), or none yet. */
export const certificateOf = (query: URLSearchParams): CertificateRef => ({
  issuerId: query.get('issuerId') ?? '',
  serial: query.get('serial') ?? '',
});

/** The issuer and serial that name the certificate a request is about; the RA looks it up and refuses unknown ones. */
export function CertificateFields({
  value,
  onChange,
}: {
  value: CertificateRef;
  onChange: (next: CertificateRef) => void;
}) {
  const { t } = useT();
  return (
    <>
      <label>
        {t('issuerId')}
        <input
          name="issuerId"
          required
          value={value.issuerId}
          onInput={(e) => onChange({ ...value, issuerId: e.currentTarget.value.trim() })}
        />
      </label>
      <label>
        {t('serial')}
        <input
          name="serial"
          required
          pattern="[0-9A-Fa-f:]{1,64}"
          value={value.serial}
          onInput={(e) => onChange({ ...value, serial: e.currentTarget.value.trim() })}
        />
      </label>
    </>
  );
}

/** A certificate as a queue row names it: its issuer, then its serial. */
export function CertificateName({ issuerId, serial }: CertificateRef) {
  return (
    <>
      {issuerId} / <code>{serial}</code>
    </>
  );
}
