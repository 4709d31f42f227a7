import type { Application } from './applications.ts';
import { useT } from './i18n.ts';

/**
 * An application's profile cell: the template is named when it is not the kind's seeded one, so
 * the reviewer sees which rules the certificate will follow, and a dual application's encryption
 * template always, since its twin may be a template of its own.
 */
export function ApplicationProfileCell({ application }: { application: Application }) {
  const { t } = useT();
  const { template, templateVersion, encryption } = application;
  return (
    <td>
      {application.profile}
      {template !== application.profile && (
        <small class="muted block" data-testid="application-template">
          {t('templateName')} {template} · v{templateVersion}
        </small>
      )}
      {encryption && (
        <small class="muted block" data-testid="encryption-template">
          {t('encryptionTemplate')} {encryption.template} · v{encryption.templateVersion}
        </small>
      )}
    </td>
  );
}
