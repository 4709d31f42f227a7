import { useT } from './i18n.ts';

/** The holder's PKCS#10 request, pasted or read from a file; the RA parses and checks it. */
export function CsrFields({ value, onChange }: { value: string; onChange: (next: string) => void }) {
  const { t } = useT();
  const readFile = async (input: HTMLInputElement) => {
    const file = input.files?.[0];
    if (file) onChange(await file.text());
  };
  return (
    <>
      <label>
        {t('csr')}
        <textarea
          name="csr"
          rows={6}
          required
          value={value}
          onInput={(e) => onChange(e.currentTarget.value)}
        />
      </label>
      <label>
        {t('csrFile')}
        <input
          type="file"
          name="csrFile"
          accept=".pem,.csr,.req"
          onChange={(e) => readFile(e.currentTarget)}
        />
      </label>
    </>
  );
}
