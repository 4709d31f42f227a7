import type { ComponentChildren } from 'preact';
import { api } from './api.ts';
import type { Application } from './applications.ts';
import { CertificateName } from './certificate-fields.tsx';
import { DecisionCell } from './decision-cell.tsx';
import { ErrorLine } from './error-line.tsx';
import { type MessageKey, useT } from './i18n.ts';
import type { Me } from './me.ts';
import { roleNames } from './role-names.ts';
import { useAnswer } from './use-answer.ts';

interface RoleChange {
  id: string;
  operatorId: string;
  roles: string[];
  requestedBy: string;
}

interface CaAction {
  id: string;
  kind: string;
  parameters: Record<string, unknown>;
  digest: string;
  requestedBy: string;
  approvalsRequired: number;
  decisions: Array<{ by: string; decision: string }>;
}

interface OperatorRevocation {
  id: string;
  kind: 'revoke' | 'release';
  issuerId: string;
  serial: string;
  reason: string;
  requestedBy: string;
  enteredBy: string;
  operatorId: string | null;
  operator: string | null;
}

interface TemplateVersion {
  name: string;
  version: number;
  status: string;
  draftedBy: string;
  retirementRequestedBy: string | null;
  retiredAt: string | null;
}

interface OperatorRecord {
  id: string;
  name: string;
}

/** One queue of decisions: its heading, the columns before the decision cell, the rows or "nothing". */
function Queue({
  heading,
  error,
  columns,
  count,
  children,
}: {
  heading: MessageKey;
  error: unknown;
  columns: Array<MessageKey | '#'>;
  count: number;
  children: ComponentChildren;
}) {
  const { t } = useT();
  return (
    <section>
      <h2>{t(heading)}</h2>
      <ErrorLine error={error} />
      {count === 0 ? (
        <p class="muted">{t('nothingWaiting')}</p>
      ) : (
        <table>
          <thead>
            <tr>
              {columns.map((column) => (
                <th key={column}>{column === '#' ? '#' : t(column)}</th>
              ))}
              <th />
            </tr>
          </thead>
          <tbody>{children}</tbody>
        </table>
      )}
    </section>
  );
}

function RoleChanges({ me }: { me: Me }) {
  const { lang } = useT();
  const changes = useAnswer<{ items: RoleChange[] }>('/v1/admin/role-changes?status=pending');
  const operators = useAnswer<{ items: OperatorRecord[] }>('/v1/admin/operators');
  const nameOf = (id: string) => operators.data?.items.find((o) => o.id === id)?.name ?? `#${id}`;
  const items = changes.data?.items ?? [];
  return (
    <Queue
      heading="roleChangesHeading"
      error={changes.error ?? operators.error}
      columns={['operatorName', 'newRoles', 'askedBy']}
      count={items.length}
    >
      {items.map((change) => (
        <tr key={change.id} data-role-change={change.id}>
          <td>{nameOf(change.operatorId)}</td>
          <td>{change.roles.map((role) => roleNames[lang][role] ?? role).join('、')}</td>
          <td>{nameOf(change.requestedBy)}</td>
          <DecisionCell
            own={change.requestedBy === me.id}
            ownText="ownRequest"
            send={(decision) => api('POST', `/v1/admin/role-changes/${change.id}/${decision}`)}
            onDecided={changes.reload}
          />
        </tr>
      ))}
    </Queue>
  );
}

function CaActions({ me }: { me: Me }) {
  const { t } = useT();
  const actions = useAnswer<{ items: CaAction[] }>('/v1/admin/ca-actions?state=pending');
  const items = actions.data?.items ?? [];
  return (
    <Queue
      heading="caActionsHeading"
      error={actions.error}
      columns={['#', 'action', 'askedBy', 'approvals']}
      count={items.length}
    >
      {items.map((action) => {
        const mine = action.requestedBy === me.name;
        const decided = action.decisions.some((d) => d.by === me.name);
        return (
          <tr key={action.id} data-ca-action={action.id}>
            <td>{action.id}</td>
            <td>
              <strong>{action.kind}</strong>
              <pre class="parameters">{JSON.stringify(action.parameters, null, 1)}</pre>
              <span class="muted">
                {t('digest')}: <code>{action.digest}</code>
              </span>
            </td>
            <td>{action.requestedBy}</td>
            <td>
              {action.decisions.filter((d) => d.decision === 'approve').length} / {action.approvalsRequired}
            </td>
            <DecisionCell
              own={mine || decided}
              ownText={mine ? 'ownRequest' : 'alreadyDecided'}
              // A decision names the digest shown here: the RA refuses it if the action changed.
              send={(decision, reason) =>
                api('POST', `/v1/admin/ca-actions/${action.id}/${decision}`, {
                  digest: action.digest,
                  ...(reason ? { reason } : {}),
                })
              }
              onDecided={actions.reload}
            />
          </tr>
        );
      })}
    </Queue>
  );
}

function OperatorCertificates({ me }: { me: Me }) {
  const applications = useAnswer<{ items: Application[] }>('/v1/admin/operator-certificates/applications');
  const items = applications.data?.items ?? [];
  return (
    <Queue
      heading="operatorCertificatesHeading"
      error={applications.error}
      columns={['#', 'holder', 'enteredBy']}
      count={items.length}
    >
      {items.map((application) => (
        <tr key={application.id} data-operator-application={application.id}>
          <td>{application.id}</td>
          <td>{application.holder.commonName}</td>
          <td>{application.enteredBy}</td>
          <DecisionCell
            path={`/v1/admin/operator-certificates/applications/${application.id}/review`}
            own={application.enteredBy === me.name || application.operatorId === me.id}
            ownText="ownRequest"
            onDecided={applications.reload}
          />
        </tr>
      ))}
    </Queue>
  );
}

/** Freezes, unfreezes and revocations of operators' login certificates, entered by a clerk. */
function OperatorRevocations({ me }: { me: Me }) {
  const { t } = useT();
  const requests = useAnswer<{ items: OperatorRevocation[] }>('/v1/admin/operator-certificates/revocations');
  const items = requests.data?.items ?? [];
  return (
    <Queue
      heading="operatorRevocationsHeading"
      error={requests.error}
      columns={['#', 'operatorName', 'certificate', 'action', 'requestedBy', 'enteredBy']}
      count={items.length}
    >
      {items.map((request) => (
        <tr key={request.id} data-operator-revocation={request.id}>
          <td>{request.id}</td>
          <td>{request.operator ?? '—'}</td>
          <td>
            <CertificateName issuerId={request.issuerId} serial={request.serial} />
          </td>
          <td>
            {request.kind === 'release'
              ? t('release')
              : request.reason === 'certificateHold'
                ? t('freeze')
                : `${t('revoke')} · ${request.reason}`}
          </td>
          <td>{request.requestedBy}</td>
          <td>{request.enteredBy}</td>
          <DecisionCell
            path={`/v1/admin/operator-certificates/revocations/${request.id}/review`}
            own={request.enteredBy === me.name || request.operatorId === me.id}
            ownText="ownRequest"
            onDecided={requests.reload}
          />
        </tr>
      ))}
    </Queue>
  );
}

/** Drafts to approve and approved versions whose retirement was asked for. */
function TemplateVersions({ me }: { me: Me }) {
  const { t } = useT();
  const templates = useAnswer<{ items: TemplateVersion[] }>('/v1/admin/templates');
  const waiting = (templates.data?.items ?? []).filter(
    (v) => v.status === 'draft' || (v.status === 'approved' && v.retirementRequestedBy && !v.retiredAt),
  );
  return (
    <Queue
      heading="templatesHeading"
      error={templates.error}
      columns={['profile', 'action', 'askedBy']}
      count={waiting.length}
    >
      {waiting.map((v) => {
        const retiring = v.status === 'approved';
        const asker = retiring ? (v.retirementRequestedBy ?? '') : v.draftedBy;
        const path = `/v1/admin/templates/${v.name}/versions/${v.version}`;
        return (
          <tr key={`${v.name}/${v.version}`} data-template={`${v.name}/${v.version}`}>
            <td>
              {v.name} v{v.version}
            </td>
            <td>{t(retiring ? 'templateRetirement' : 'templateDraft')}</td>
            <td>{asker}</td>
            <DecisionCell
              own={asker === me.name}
              ownText="ownRequest"
              send={(decision, reason) =>
                decision === 'approve'
                  ? api('POST', `${path}/approve`)
                  : api('POST', `${path}/reject`, { reason })
              }
              onDecided={templates.reload}
            />
          </tr>
        );
      })}
    </Queue>
  );
}

/**
 * What waits for this administrator's decision, through the RA's own decision routes: a super
 * admin's role changes, CA-level actions, operator certificates and their freezes and revocations; a business admin's template
 * versions. What the operator asked for themselves shows as theirs before any click.
 */
export function ApprovalsPage({ me }: { me: Me }) {
  const { t } = useT();
  const superAdmin = me.roles.includes('super_admin');
  return (
    <main>
      <h1>{t('approvalsHeading')}</h1>
      {superAdmin && <RoleChanges me={me} />}
      {superAdmin && <CaActions me={me} />}
      {superAdmin && <OperatorCertificates me={me} />}
      {superAdmin && <OperatorRevocations me={me} />}
      {me.roles.includes('business_admin') && <TemplateVersions me={me} />}
    </main>
  );
}
