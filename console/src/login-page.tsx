import { useRef, useState } from 'preact/hooks';
import { api, session } from './api.ts';
import { ErrorLine } from './error-line.tsx';
import { fileBytes } from './file-bytes.ts';
import { type MessageKey, useT } from './i18n.ts';

/** Certificate login: the RA's challenge signed here with the operator's key file, plus the TOTP code. */
export function LoginPage({ onLogin }: { onLogin: () => void }) {
  const { t } = useT();
  const certificate = useRef<HTMLInputElement>(null);
  const key = useRef<HTMLInputElement>(null);
  const [totp, setTotp] = useState('');
  const [passphrase, setPassphrase] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const [certBytes, keyBytes] = await Promise.all([
        fileBytes(certificate.current),
        fileBytes(key.current),
      ]);
      if (!certBytes || !keyBytes) throw new Error(`${t('certificateFile')} / ${t('keyFile')}`);
      // Loaded only now: the signing code is most of the console's weight, and only login needs it.
      const { certificateText, openKeyFile, signChallenge } = await import('./key-signer.ts');
      // Opened before the RA is asked, so a wrong passphrase spends neither a challenge nor the code.
      const scalar = await openKeyFile(keyBytes, passphrase);
      const { challenge } = await api<{ challenge: string }>('POST', '/v1/login/challenge', {
        certificate: certificateText(certBytes),
      });
      const { token } = await api<{ token: string }>('POST', '/v1/login', {
        challenge,
        signature: signChallenge(scalar, challenge),
        totp,
      });
      session.set(token);
      onLogin();
    } catch (err) {
      setError(err instanceof Error && 'messageKey' in err ? t(err.messageKey as MessageKey) : err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="narrow">
      <h1>{t('loginHeading')}</h1>
      <p class="hint">{t('loginHint')}</p>
      <form onSubmit={submit}>
        <label>
          {t('certificateFile')}
          <input ref={certificate} type="file" name="certificate" required />
        </label>
        <label>
          {t('keyFile')}
          <input ref={key} type="file" name="key" required />
        </label>
        <label>
          {t('keyPassphrase')}
          <input
            name="passphrase"
            type="password"
            autoComplete="off"
            value={passphrase}
            onInput={(e) => setPassphrase(e.currentTarget.value)}
          />
        </label>
        <label>
          {t('totp')}
          <input
            name="totp"
            inputMode="numeric"
            autoComplete="one-time-code"
            pattern="[0-9]{6}"
            maxLength={6}
            required
            value={totp}
            onInput={(e) => setTotp(e.currentTarget.value.trim())}
          />
        </label>
        <button type="submit" disabled={busy}>
          {busy ? t('loggingIn') : t('login')}
        </button>
      </form>
      <ErrorLine error={error} />
    </main>
  );
}
