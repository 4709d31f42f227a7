import { isResidentId, isUnifiedSocialCreditCode } from '@sm2ca/pki/identity-numbers';
import { useEffect, useState } from 'preact/hooks';
import { api } from './api.ts';
import { CsrFields } from './csr-fields.tsx';
import { ErrorLine } from './error-line.tsx';
import { type MessageKey, useT } from './i18n.ts';

type HolderType = 'person' | 'organisation' | 'device';
type Profiles = Record<HolderType, string[]>;
interface UsableTemplate {
  name: string;
  kind: string;
  version: number;
  seeded: boolean;
  validityDays: number;
}

/** The check the RA makes again at submission, shown as the clerk types: the same function, not a copy. */
function IdentityCheck({ value, valid, invalid }: { value: string; valid: boolean; invalid: MessageKey }) {
  const { t } = useT();
  if (!value) return null;
  return (
    <span class={valid ? 'ok' : 'error'} aria-live="polite">
      {valid ? t('valid') : t(invalid)}
    </span>
  );
}

export function EntryPage() {
  const { t } = useT();
  const [profiles, setProfiles] = useState<Profiles | null>(null);
  const [holderType, setHolderType] = useState<HolderType>('person');
  const [profile, setProfile] = useState('');
  const [templates, setTemplates] = useState<UsableTemplate[]>([]);
  const [template, setTemplate] = useState('');
  const [commonName, setCommonName] = useState('');
  const [organization, setOrganization] = useState('');
  const [residentId, setResidentId] = useState('');
  const [uscc, setUscc] = useState('');
  const [csr, setCsr] = useState('');
  const [publishConsent, setPublishConsent] = useState(false);
  const [dual, setDual] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [submitted, setSubmitted] = useState<string | null>(null);

  useEffect(() => {
    api<{ holderTypes: Profiles }>('GET', '/v1/enrollment/profiles')
      .then((answer) => setProfiles(answer.holderTypes))
      .catch(setError);
    api<{ items: UsableTemplate[] }>('GET', '/v1/enrollment/templates')
      .then((answer) => setTemplates(answer.items))
      .catch(setError);
  }, []);
  const choices = profiles?.[holderType] ?? [];
  useEffect(() => setProfile(choices[0] ?? ''), [profiles, holderType]);
  // The RA lists the seeded template of a kind first: it is what an application naming no template gets.
  const templateChoices = templates.filter((candidate) => candidate.kind === profile);
  useEffect(() => setTemplate(templateChoices[0]?.name ?? ''), [templates, profile]);

  const residentOk = isResidentId(residentId);
  const usccOk = isUnifiedSocialCreditCode(uscc);

  const submit = async (event: Event) => {
    event.preventDefault();
    setError(null);
    setSubmitted(null);
    const identity =
      holderType === 'person' && residentId
        ? { residentId }
        : holderType === 'organisation' && uscc
          ? { unifiedSocialCreditCode: uscc }
          : undefined;
    try {
      const created = await api<{ id: string }>('POST', '/v1/applications', {
        holderType,
        profile,
        ...(template && template !== profile ? { template } : {}),
        holder: {
          commonName,
          ...(organization ? { organization } : {}),
          ...(identity ? { identity } : {}),
        },
        csr,
        publishConsent,
        dual,
      });
      setSubmitted(created.id);
    } catch (err) {
      setError(err);
    }
  };

  return (
    <main>
      <h1>{t('enterHeading')}</h1>
      <form onSubmit={submit}>
        <label>
          {t('holderType')}
          <select
            name="holderType"
            value={holderType}
            onChange={(e) => setHolderType(e.currentTarget.value as HolderType)}
          >
            <option value="person">{t('person')}</option>
            <option value="organisation">{t('organisation')}</option>
            <option value="device">{t('device')}</option>
          </select>
        </label>
        <label>
          {t('profile')}
          <select name="profile" value={profile} onChange={(e) => setProfile(e.currentTarget.value)}>
            {choices.map((id) => (
              <option key={id} value={id}>
                {id}
              </option>
            ))}
          </select>
        </label>
        {templateChoices.length > 1 && (
          <label>
            {t('templateName')}
            <select name="template" value={template} onChange={(e) => setTemplate(e.currentTarget.value)}>
              {templateChoices.map((choice) => (
                <option key={choice.name} value={choice.name}>
                  {choice.name} · v{choice.version} · {choice.validityDays} {t('days')}
                  {choice.seeded ? ` (${t('templateDefault')})` : ''}
                </option>
              ))}
            </select>
          </label>
        )}
        <label>
          {t('commonName')}
          <input
            name="commonName"
            required
            maxLength={64}
            value={commonName}
            onInput={(e) => setCommonName(e.currentTarget.value)}
          />
        </label>
        {holderType !== 'person' && (
          <label>
            {t('organization')}
            <input
              name="organization"
              maxLength={128}
              value={organization}
              onInput={(e) => setOrganization(e.currentTarget.value)}
            />
          </label>
        )}
        {holderType === 'person' && (
          <label>
            {t('residentId')}
            <input
              name="residentId"
              maxLength={18}
              aria-invalid={residentId !== '' && !residentOk}
              value={residentId}
              onInput={(e) => setResidentId(e.currentTarget.value.trim().toUpperCase())}
            />
            <IdentityCheck value={residentId} valid={residentOk} invalid="invalidResidentId" />
          </label>
        )}
        {holderType === 'organisation' && (
          <label>
            {t('uscc')}
            <input
              name="uscc"
              maxLength={18}
              aria-invalid={uscc !== '' && !usccOk}
              value={uscc}
              onInput={(e) => setUscc(e.currentTarget.value.trim().toUpperCase())}
            />
            <IdentityCheck value={uscc} valid={usccOk} invalid="invalidUscc" />
          </label>
        )}
        <CsrFields value={csr} onChange={setCsr} />
        <label class="check">
          <input
            type="checkbox"
            name="publishConsent"
            checked={publishConsent}
            onChange={(e) => setPublishConsent(e.currentTarget.checked)}
          />
          {t('publishConsent')}
        </label>
        <label class="check">
          <input
            type="checkbox"
            name="dual"
            checked={dual}
            onChange={(e) => setDual(e.currentTarget.checked)}
          />
          {t('dual')}
        </label>
        <button type="submit">{t('submit')}</button>
      </form>
      {submitted && (
        <p class="ok" role="status">
          {t('submitted')} <strong data-testid="application-id">{submitted}</strong>
        </p>
      )}
      <ErrorLine error={error} />
    </main>
  );
}
