import { useEffect, useState } from 'preact/hooks';
import { api } from './api.ts';
import { formatTime } from './applications.ts';
import { certificateStatusLabel } from './certificate-status.ts';
import { ErrorLine } from './error-line.tsx';
import { certificateHref } from './hash-route.ts';
import { type MessageKey, useT } from './i18n.ts';
import { save } from './save-file.ts';

interface CertificateDetail {
  certificate: {
    issuerId: string;
    serial: string;
    status: string;
    expired: boolean;
    profile: string;
    subject: string;
    holderKey: string | null;
    applicationId: string | null;
    twinSerial: string | null;
    revokedAt: string | null;
    revocationReason: string | null;
  };
  template: string | null;
  templateVersion: number | null;
  der: string;
  decoded: {
    version: number;
    serial: string;
    subject: string;
    issuer: string;
    notBefore: string;
    notAfter: string;
    signatureAlgorithm: string;
    keyUsage: string[];
    extendedKeyUsage: string[];
    extensions: Array<{ oid: string; name: string | null; critical: boolean }>;
  };
  crl: {
    latest: { number: string; kind: 'full' | 'delta'; thisUpdate: string; nextUpdate: string } | null;
    listedSince: string | null;
  };
}

/** What a clerk may ask for next about this certificate; the RA decides whether it may be done. */
const actions: Array<{
  label: MessageKey;
  path: string;
  extra?: string;
  when: (c: CertificateDetail['certificate']) => boolean;
}> = [
  { label: 'freeze', path: '#/holds', when: (c) => c.status === 'good' },
  { label: 'release', path: '#/holds', extra: '&action=unfreeze', when: (c) => c.status === 'hold' },
  { label: 'navRenew', path: '#/renew', when: (c) => c.status === 'good' },
  { label: 'navRekey', path: '#/rekey', when: (c) => c.status !== 'revoked' },
  { label: 'navRevoke', path: '#/revoke', when: (c) => c.status !== 'revoked' },
  { label: 'navKeyRecovery', path: '#/key-recoveries', when: (c) => c.profile.endsWith('-encrypt') },
];

const pem = (base64: string) =>
  `-----BEGIN CERTIFICATE-----\n${base64.match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`;

/**
 * One certificate: the fields the RA decoded from the certificate as issued, its status as OCSP
 * answers it, and whether the newest CRL lists it. The RA does the decoding, so this page loads
 * no X.509 code.
 */
export function CertificateDetailPage({
  query,
  canOpen,
}: {
  query: URLSearchParams;
  /** Whether the operator's roles give them the page at `path`: only those actions are offered. */
  canOpen: (path: string) => boolean;
}) {
  const { t, lang } = useT();
  const issuerId = query.get('issuerId') ?? '';
  const serial = query.get('serial') ?? '';
  const [detail, setDetail] = useState<CertificateDetail | null>(null);
  const [error, setError] = useState<unknown>(null);
  const load = () => {
    setError(null);
    api<CertificateDetail>(
      'GET',
      `/v1/certificates/${encodeURIComponent(issuerId)}/${encodeURIComponent(serial)}/detail`,
    )
      .then(setDetail)
      .catch(setError);
  };
  useEffect(load, [issuerId, serial]);
  if (!detail) {
    return (
      <main>
        <h1>{t('certificateDetailHeading')}</h1>
        {error ? <ErrorLine error={error} /> : <p>{t('loading')}</p>}
      </main>
    );
  }
  const { certificate: c, decoded: d, crl } = detail;
  const der = Uint8Array.from(atob(detail.der), (ch) => ch.charCodeAt(0));
  const onCrl = crl.listedSince !== null;
  return (
    <main>
      <h1>{t('certificateDetailHeading')}</h1>
      <div class="actions">
        <button
          type="button"
          onClick={() => save(`${c.serial}.pem`, 'application/x-pem-file', pem(detail.der))}
        >
          {t('downloadPem')}
        </button>
        <button type="button" onClick={() => save(`${c.serial}.cer`, 'application/pkix-cert', der)}>
          {t('downloadDer')}
        </button>
        <button type="button" class="secondary" onClick={load}>
          {t('refresh')}
        </button>
        {actions
          .filter((action) => canOpen(action.path) && action.when(c))
          .map((action) => (
            <a
              key={action.label}
              href={`${certificateHref(action.path, c.issuerId, c.serial)}${action.extra ?? ''}`}
            >
              {t(action.label)}
            </a>
          ))}
      </div>
      <ErrorLine error={error} />
      <h2>{t('certificateState')}</h2>
      <dl class="detail">
        <dt>{t('ocspStatus')}</dt>
        <dd data-testid="ocsp-status">
          {certificateStatusLabel(c.status, c.expired, t)}
          {c.status !== 'good' &&
            c.revokedAt &&
            ` · ${formatTime(c.revokedAt, lang)} · ${c.revocationReason ?? ''}`}
        </dd>
        <dt>{t('crlState')}</dt>
        <dd data-testid="crl-state">
          {crl.latest
            ? `${onCrl ? t('crlListed') : t('crlNotListed')} · ${t('crlNumber')} ${crl.latest.number} · ${formatTime(crl.latest.thisUpdate, lang)}`
            : t('crlNone')}
          {onCrl && ` (${t('crlListedSince')} ${crl.listedSince})`}
        </dd>
      </dl>
      <h2>{t('certificateFields')}</h2>
      <dl class="detail">
        <dt>{t('subject')}</dt>
        <dd data-testid="detail-subject">{d.subject}</dd>
        <dt>{t('issuer')}</dt>
        <dd>
          {d.issuer} ({c.issuerId})
        </dd>
        <dt>{t('serial')}</dt>
        <dd>
          <code data-testid="detail-serial">{d.serial}</code>
        </dd>
        <dt>{t('validity')}</dt>
        <dd>
          {formatTime(d.notBefore, lang)} – {formatTime(d.notAfter, lang)}
        </dd>
        <dt>{t('version')}</dt>
        <dd>v{d.version}</dd>
        <dt>{t('signatureAlgorithm')}</dt>
        <dd>{d.signatureAlgorithm}</dd>
        <dt>{t('keyUsage')}</dt>
        <dd data-testid="detail-key-usage">{d.keyUsage.join(', ') || '—'}</dd>
        <dt>{t('extendedKeyUsage')}</dt>
        <dd>{d.extendedKeyUsage.join(', ') || '—'}</dd>
        <dt>{t('profile')}</dt>
        <dd data-testid="detail-profile">
          {c.profile}
          {detail.template !== null && (
            <span data-testid="detail-template">
              {` · ${t('templateName')} ${detail.template} · ${t('templateVersion')} ${detail.templateVersion}`}
            </span>
          )}
        </dd>
        <dt>{t('holder')}</dt>
        <dd>{c.holderKey ?? '—'}</dd>
        {c.twinSerial && (
          <>
            <dt>{t('twinCertificate')}</dt>
            <dd>
              <a data-testid="twin-serial" href={certificateHref('#/certificate', c.issuerId, c.twinSerial)}>
                {c.twinSerial}
              </a>
            </dd>
          </>
        )}
      </dl>
      <h2>{t('extensions')}</h2>
      <table>
        <thead>
          <tr>
            <th>OID</th>
            <th>{t('extensionName')}</th>
            <th>{t('critical')}</th>
          </tr>
        </thead>
        <tbody>
          {d.extensions.map((ext) => (
            <tr key={ext.oid}>
              <td>
                <code>{ext.oid}</code>
              </td>
              <td>{ext.name ?? '—'}</td>
              <td>{ext.critical ? t('yes') : t('no')}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </main>
  );
}
