import { useState } from 'preact/hooks';
import { api } from './api.ts';
import { formatTime } from './applications.ts';
import { certificateStatusLabel } from './certificate-status.ts';
import { ErrorLine } from './error-line.tsx';
import { certificateHref } from './hash-route.ts';
import { useT } from './i18n.ts';

interface Certificate {
  issuerId: string;
  serial: string;
  status: string;
  expired: boolean;
  profile: string;
  subject: string;
  notBefore: string;
  notAfter: string;
}

export function CertificateSearchPage() {
  const { t, lang } = useT();
  const [serial, setSerial] = useState('');
  const [subject, setSubject] = useState('');
  const [items, setItems] = useState<Certificate[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const search = async (event: Event) => {
    event.preventDefault();
    setError(null);
    const query = new URLSearchParams({ limit: '50' });
    if (serial) query.set('serial', serial);
    if (subject) query.set('subject', subject);
    try {
      setItems((await api<{ items: Certificate[] }>('GET', `/v1/certificates?${query}`)).items);
    } catch (err) {
      setError(err);
    }
  };
  return (
    <main>
      <h1>{t('certificateSearchHeading')}</h1>
      <form onSubmit={search} class="inline">
        <label>
          {t('serial')}
          <input name="serial" value={serial} onInput={(e) => setSerial(e.currentTarget.value.trim())} />
        </label>
        <label>
          {t('subject')}
          <input name="subject" value={subject} onInput={(e) => setSubject(e.currentTarget.value)} />
        </label>
        <button type="submit">{t('search')}</button>
      </form>
      <ErrorLine error={error} />
      {items && (
        <table>
          <thead>
            <tr>
              <th>{t('serial')}</th>
              <th>{t('subject')}</th>
              <th>{t('profile')}</th>
              <th>{t('status')}</th>
              <th>{t('validity')}</th>
            </tr>
          </thead>
          <tbody>
            {items.map((c) => (
              <tr key={`${c.issuerId}/${c.serial}`} data-serial={c.serial}>
                <td>
                  <a href={certificateHref('#/certificate', c.issuerId, c.serial)}>
                    <code>{c.serial}</code>
                  </a>
                </td>
                <td>{c.subject}</td>
                <td>{c.profile}</td>
                <td data-testid="certificate-status">{certificateStatusLabel(c.status, c.expired, t)}</td>
                <td>
                  {formatTime(c.notBefore, lang)} – {formatTime(c.notAfter, lang)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </main>
  );
}
