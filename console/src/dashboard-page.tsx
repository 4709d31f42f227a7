import type { Application } from './applications.ts';
import { ErrorLine } from './error-line.tsx';
import { type Lang, type MessageKey, useT } from './i18n.ts';
import type { Me } from './me.ts';
import { roleNames } from './role-names.ts';
import { useAnswer } from './use-answer.ts';

interface Availability {
  target: number;
  periods: Array<{
    period: string;
    services: Array<{ service: string; availability: number | null; meetsTarget: boolean | null }>;
  }>;
}

interface LatestCrl {
  issuerId: string;
  kind: string;
  crlNumber: string;
  ageSeconds: number;
  late: boolean;
}

const businessOperators = ['entry_clerk', 'reviewer', 'certificate_maker'];
const dayMs = 86_400_000;

function formatAge(seconds: number, lang: Lang): string {
  const hours = Math.floor(seconds / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  return lang === 'zh' ? `${hours} 小时 ${minutes} 分` : `${hours} h ${minutes} min`;
}

/** One figure of a card: a count, or … while it loads. */
function Figure({
  label,
  value,
  alert,
}: {
  label: MessageKey;
  value: number | string | null;
  alert?: boolean;
}) {
  const { t } = useT();
  return (
    <div class="figure">
      <dt>{t(label)}</dt>
      <dd class={alert ? 'error' : ''} data-figure={label}>
        {value ?? '…'}
      </dd>
    </div>
  );
}

function Card({ heading, error, children }: { heading: MessageKey; error?: unknown; children: unknown }) {
  const { t } = useT();
  return (
    <section class="card">
      <h2>{t(heading)}</h2>
      <ErrorLine error={error} />
      {children}
    </section>
  );
}

/** The business queues as the application list gives them; the RA computed each deadline. */
function ApplicationQueues({ me }: { me: Me }) {
  const submitted = useAnswer<{ items: Application[] }>('/v1/applications?status=submitted&limit=500');
  const approved = useAnswer<{ items: Application[] }>('/v1/applications?status=approved&limit=500');
  const revocations = useAnswer<{ items: unknown[] }>('/v1/revocations?status=submitted&limit=500');
  const waiting = submitted.data?.items ?? null;
  const soon = waiting?.filter((a) => !a.overdue && new Date(a.deadline).getTime() - Date.now() < dayMs);
  const overdue = waiting?.filter((a) => a.overdue);
  return (
    <Card heading="dashApplications" error={submitted.error ?? approved.error ?? revocations.error}>
      <dl class="figures">
        <Figure label="dashSubmitted" value={waiting?.length ?? null} />
        <Figure label="dashDueSoon" value={soon?.length ?? null} />
        <Figure label="overdue" value={overdue?.length ?? null} alert={(overdue?.length ?? 0) > 0} />
        {me.roles.some((r) => r === 'certificate_maker' || r === 'reviewer') && (
          <Figure label="dashApproved" value={approved.data?.items.length ?? null} />
        )}
        <Figure label="dashRevocations" value={revocations.data?.items.length ?? null} />
      </dl>
    </Card>
  );
}

function Evidence() {
  const { t, lang } = useT();
  const deadlines = useAnswer<{ overdue: unknown[]; dueSoon: unknown[] }>(
    '/v1/evidence/deadlines?withinHours=24',
  );
  const availability = useAnswer<Availability>('/v1/evidence/availability');
  const crls = useAnswer<{ items: LatestCrl[] }>('/v1/evidence/crls/latest');
  const today = availability.data?.periods.at(-1);
  return (
    <>
      <Card heading="dashDeadlines" error={deadlines.error}>
        <dl class="figures">
          <Figure label="dashDueSoon" value={deadlines.data?.dueSoon.length ?? null} />
          <Figure
            label="overdue"
            value={deadlines.data?.overdue.length ?? null}
            alert={(deadlines.data?.overdue.length ?? 0) > 0}
          />
        </dl>
      </Card>
      <Card heading="dashAvailability" error={availability.error}>
        {availability.data && (
          <p class="muted">
            {t('dashTarget')}: {(availability.data.target * 100).toFixed(1)}%
          </p>
        )}
        {today && (
          <table>
            <tbody>
              {today.services.map((s) => (
                <tr key={s.service} data-service={s.service}>
                  <td>{s.service}</td>
                  <td class={s.meetsTarget === false ? 'error' : ''}>
                    {s.availability === null ? t('dashNotMeasured') : `${(s.availability * 100).toFixed(3)}%`}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Card>
      <Card heading="dashCrlAge" error={crls.error}>
        {crls.data?.items.length === 0 ? (
          <p class="muted">{t('dashNoCrl')}</p>
        ) : (
          <table>
            <tbody>
              {crls.data?.items.map((crl) => (
                <tr key={`${crl.issuerId}/${crl.kind}`} data-crl={`${crl.issuerId}/${crl.kind}`}>
                  <td>{crl.issuerId}</td>
                  <td>{crl.kind}</td>
                  <td>#{crl.crlNumber}</td>
                  <td class={crl.late ? 'error' : ''}>
                    {formatAge(crl.ageSeconds, lang)}
                    {crl.late && <strong class="badge">{t('dashCrlLate')}</strong>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Card>
    </>
  );
}

function AdministratorQueues({ me }: { me: Me }) {
  const { t } = useT();
  const superAdmin = me.roles.includes('super_admin');
  const businessAdmin = me.roles.includes('business_admin');
  const changes = useAnswer<{ items: unknown[] }>(
    superAdmin ? '/v1/admin/role-changes?status=pending' : null,
  );
  const actions = useAnswer<{ items: unknown[] }>(superAdmin ? '/v1/admin/ca-actions?state=pending' : null);
  const certificates = useAnswer<{ items: unknown[] }>(
    superAdmin ? '/v1/admin/operator-certificates/applications' : null,
  );
  const revocations = useAnswer<{ items: unknown[] }>(
    superAdmin ? '/v1/admin/operator-certificates/revocations' : null,
  );
  const templates = useAnswer<{
    items: Array<{ status: string; retirementRequestedBy: string | null; retiredAt: string | null }>;
  }>(businessAdmin ? '/v1/admin/templates' : null);
  const templatesWaiting = templates.data?.items.filter(
    (v) => v.status === 'draft' || (v.status === 'approved' && v.retirementRequestedBy && !v.retiredAt),
  );
  return (
    <Card
      heading="dashAdministration"
      error={changes.error ?? actions.error ?? certificates.error ?? templates.error}
    >
      <dl class="figures">
        {superAdmin && <Figure label="dashRoleChanges" value={changes.data?.items.length ?? null} />}
        {superAdmin && <Figure label="dashCaActions" value={actions.data?.items.length ?? null} />}
        {superAdmin && (
          <Figure label="dashOperatorCertificates" value={certificates.data?.items.length ?? null} />
        )}
        {superAdmin && (
          <Figure label="dashOperatorRevocations" value={revocations.data?.items.length ?? null} />
        )}
        {businessAdmin && <Figure label="dashTemplates" value={templatesWaiting?.length ?? null} />}
      </dl>
      <a href="#/approvals">{t('navApprovals')}</a>
    </Card>
  );
}

/**
 * The first page after login, for every role: the figures that role may read, each from the RA
 * route that owns it (the RA refuses the rest anyway), then the way to the role's pages.
 */
export function DashboardPage({ me, links }: { me: Me; links: Array<{ path: string; label: MessageKey }> }) {
  const { t, lang } = useT();
  const business = me.roles.some((r) => businessOperators.includes(r));
  const evidence = me.roles.some((r) => r === 'business_admin' || r === 'auditor');
  const admin = me.roles.some((r) => r === 'super_admin' || r === 'business_admin');
  return (
    <main>
      <h1>{t('homeHeading')}</h1>
      <p>
        {t('homeRoles')}: {me.roles.map((role) => roleNames[lang][role] ?? role).join('、')}
      </p>
      <div class="cards">
        {business && <ApplicationQueues me={me} />}
        {admin && <AdministratorQueues me={me} />}
        {evidence && <Evidence />}
      </div>
      {links.length === 0 && <p>{t('noWork')}</p>}
      <ul class="tiles">
        {links.map((page) => (
          <li key={page.path}>
            <a href={page.path}>{t(page.label)}</a>
          </li>
        ))}
      </ul>
    </main>
  );
}
