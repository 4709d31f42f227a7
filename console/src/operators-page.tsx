import { useState } from 'preact/hooks';
import { api } from './api.ts';
import { ErrorLine } from './error-line.tsx';
import { useT } from './i18n.ts';
import type { Me } from './me.ts';
import { roleNames } from './role-names.ts';
import { useAnswer } from './use-answer.ts';

interface OperatorRecord {
  id: string;
  name: string;
  identity: string;
  roles: string[];
  disabledAt: string | null;
}

function RolePicker({
  name,
  chosen,
  onChange,
}: {
  name: string;
  chosen: string[];
  onChange: (roles: string[]) => void;
}) {
  const { lang } = useT();
  return (
    <div class="actions">
      {Object.keys(roleNames[lang]).map((role) => (
        <label class="check" key={role}>
          <input
            type="checkbox"
            name={name}
            value={role}
            checked={chosen.includes(role)}
            onChange={(e) =>
              onChange(e.currentTarget.checked ? [...chosen, role] : chosen.filter((r) => r !== role))
            }
          />
          {roleNames[lang][role]}
        </label>
      ))}
    </div>
  );
}

function OperatorRow({
  operator,
  me,
  onChanged,
}: {
  operator: OperatorRecord;
  me: Me;
  onChanged: () => void;
}) {
  const { t, lang } = useT();
  const [editing, setEditing] = useState(false);
  const [roles, setRoles] = useState(operator.roles);
  const [note, setNote] = useState('');
  const [error, setError] = useState<unknown>(null);
  const run = async (call: () => Promise<unknown>, done: string) => {
    setError(null);
    try {
      await call();
      setNote(done);
      setEditing(false);
      onChanged();
    } catch (err) {
      setError(err);
    }
  };
  const disabled = operator.disabledAt !== null;
  return (
    <tr data-operator={operator.name} class={disabled ? 'muted' : ''}>
      <td>{operator.name}</td>
      <td>{operator.identity}</td>
      <td>
        {editing ? (
          <RolePicker name={`roles-${operator.id}`} chosen={roles} onChange={setRoles} />
        ) : (
          operator.roles.map((role) => roleNames[lang][role] ?? role).join('、')
        )}
      </td>
      <td data-testid="operator-status">{t(disabled ? 'operatorDisabled' : 'operatorActive')}</td>
      <td>
        {!disabled && operator.id !== me.id && (
          <div class="actions">
            {editing ? (
              <button
                type="button"
                onClick={() =>
                  run(
                    () => api('POST', `/v1/admin/operators/${operator.id}/role-changes`, { roles }),
                    t('roleChangeRequested'),
                  )
                }
              >
                {t('submit')}
              </button>
            ) : (
              <button type="button" class="secondary" onClick={() => setEditing(true)}>
                {t('requestRoleChange')}
              </button>
            )}
            <button
              type="button"
              class="secondary"
              onClick={() => run(() => api('POST', `/v1/admin/operators/${operator.id}/disable`), '')}
            >
              {t('disableOperator')}
            </button>
          </div>
        )}
        {note && <p class="ok">{note}</p>}
        <ErrorLine error={error} />
      </td>
    </tr>
  );
}

/**
 * Super admins' view of the operators: add one (the credential shows once), disable one, ask for a
 * role change that a second administrator approves on their approvals page. The RA checks role
 * compatibility and refuses what it must; nothing here decides it.
 */
export function OperatorsPage({ me }: { me: Me }) {
  const { t } = useT();
  const operators = useAnswer<{ items: OperatorRecord[] }>('/v1/admin/operators');
  const [name, setName] = useState('');
  const [identity, setIdentity] = useState('');
  const [roles, setRoles] = useState<string[]>([]);
  const [credential, setCredential] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const add = async (event: Event) => {
    event.preventDefault();
    setError(null);
    setCredential(null);
    try {
      const answer = await api<{ credential: string }>('POST', '/v1/admin/operators', {
        name,
        identity,
        roles,
      });
      setCredential(answer.credential);
      setName('');
      setIdentity('');
      setRoles([]);
      operators.reload();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <main>
      <h1>{t('operatorsHeading')}</h1>
      <ErrorLine error={operators.error} />
      {operators.data === null ? (
        <p>{t('loading')}</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th>{t('operatorName')}</th>
              <th>{t('identity')}</th>
              <th>{t('roles')}</th>
              <th>{t('status')}</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {operators.data.items.map((operator) => (
              <OperatorRow key={operator.id} operator={operator} me={me} onChanged={operators.reload} />
            ))}
          </tbody>
        </table>
      )}
      <h2>{t('addOperator')}</h2>
      <form onSubmit={add}>
        <label>
          {t('operatorName')}
          <input
            name="name"
            required
            maxLength={64}
            value={name}
            onInput={(e) => setName(e.currentTarget.value)}
          />
        </label>
        <label>
          {t('identity')}
          <input
            name="identity"
            required
            maxLength={64}
            value={identity}
            onInput={(e) => setIdentity(e.currentTarget.value)}
          />
        </label>
        <fieldset>
          <legend>{t('roles')}</legend>
          <RolePicker name="roles" chosen={roles} onChange={setRoles} />
        </fieldset>
        <button type="submit">{t('addOperatorButton')}</button>
      </form>
      <ErrorLine error={error} />
      {credential && (
        <div class="issued">
          <p>{t('credentialOnce')}</p>
          <code data-testid="credential">{credential}</code>
        </div>
      )}
    </main>
  );
}
