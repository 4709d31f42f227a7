import { AppError, type OperatorRecord, type RoleChange, roleNames, roles } from '@sm2ca/platform';
import type { Command } from 'commander';
import { cliContext } from '../context.ts';
import { raAdminClient } from '../ra-admin-client.ts';

/** Roles are written with dashes on the command line (entry-clerk) and underscores in the API. */
const cliRole = (role: string) => role.replaceAll('_', '-');
const apiRoles = (given: string[]) =>
  given.flatMap((r) => r.split(',')).map((r) => r.trim().replaceAll('-', '_'));

const roleHelp = `one or more of: ${roles.map((r) => `${cliRole(r)} (${roleNames[r].replace(/ \(.*/, '')})`).join(', ')}`;

function client() {
  return raAdminClient(cliContext().config);
}

/** An operator named by id or by name, as `operator list` shows them. */
async function operatorId(call: ReturnType<typeof client>, who: string): Promise<string> {
  if (/^[1-9][0-9]*$/.test(who)) return who;
  const { items } = await call<{ items: OperatorRecord[] }>('GET', '/v1/admin/operators');
  const found = items.find((o) => o.name === who);
  if (!found) throw new AppError('OPERATOR_NOT_FOUND', `there is no operator named "${who}"`, 404);
  return found.id;
}

const describeChange = (change: RoleChange) =>
  `role change ${change.id} for operator ${change.operatorId}: ${change.roles.map(cliRole).join(', ')} (${change.status})`;

/**
 * Operator management as a client of the RA's /v1/admin API, under SM2CA_OPERATOR_CREDENTIAL;
 * the first super admin comes from `sm2ca init --super-admin`.
 */
export function registerOperatorCommands(program: Command): void {
  const operator = program
    .command('operator')
    .description(
      "operators and their roles, through the RA's admin API as the administrator in SM2CA_OPERATOR_CREDENTIAL",
    );
  operator
    .command('add')
    .description(
      'add an operator and print their one-time credential (a bearer token; only its digest is kept)',
    )
    .requiredOption('--name <name>', 'operator name, unique')
    .requiredOption(
      '--identity <id>',
      'what names the person outside this system, e.g. staff ID number; unique',
    )
    .requiredOption('--role <role...>', roleHelp)
    .action(async (options: { name: string; identity: string; role: string[] }) => {
      const added = await client()<{ operator: OperatorRecord; credential: string }>(
        'POST',
        '/v1/admin/operators',
        {
          name: options.name,
          identity: options.identity,
          roles: apiRoles(options.role),
        },
      );
      process.stderr.write(
        `added ${added.operator.name} (${added.operator.id}) as ${added.operator.roles.map((r) => roleNames[r]).join(', ')}; the credential is shown once:\n`,
      );
      console.log(added.credential);
    });
  operator
    .command('list')
    .description('every operator: id, name, identity, roles, and whether disabled')
    .action(async () => {
      const { items } = await client()<{ items: OperatorRecord[] }>('GET', '/v1/admin/operators');
      for (const o of items) {
        console.log(
          [
            o.id,
            o.name,
            o.identity,
            o.roles.map(cliRole).join(',') || '-',
            o.disabledAt ? `disabled ${o.disabledAt}` : 'active',
          ].join('\t'),
        );
      }
    });
  operator
    .command('disable <operator>')
    .description('disable an operator (by id or name): their credential stops working')
    .action(async (who: string) => {
      const call = client();
      const disabled = await call<OperatorRecord>(
        'POST',
        `/v1/admin/operators/${await operatorId(call, who)}/disable`,
      );
      console.log(`disabled ${disabled.name} (${disabled.id})`);
    });
  operator
    .command('rotate <operator>')
    .description('give an operator (by id or name) a new credential, printed once; the old one stops working')
    .action(async (who: string) => {
      const call = client();
      const rotated = await call<{ operator: OperatorRecord; credential: string }>(
        'POST',
        `/v1/admin/operators/${await operatorId(call, who)}/credential`,
      );
      process.stderr.write(`new credential for ${rotated.operator.name}, shown once:\n`);
      console.log(rotated.credential);
    });
  operator
    .command('grant <operator>')
    .description("ask for an operator's roles to become the given set; a second administrator approves it")
    .requiredOption('--role <role...>', roleHelp)
    .action(async (who: string, options: { role: string[] }) => {
      const call = client();
      const change = await call<RoleChange>(
        'POST',
        `/v1/admin/operators/${await operatorId(call, who)}/role-changes`,
        {
          roles: apiRoles(options.role),
        },
      );
      console.log(change.id);
      process.stderr.write(
        `${describeChange(change)}; another administrator approves it with: sm2ca operator approve ${change.id}\n`,
      );
    });
  operator
    .command('approve <change>')
    .description('approve a role change another administrator asked for')
    .action(async (id: string) => {
      console.log(describeChange(await client()<RoleChange>('POST', `/v1/admin/role-changes/${id}/approve`)));
    });
  operator
    .command('reject <change>')
    .description('turn down a role change, or withdraw one you asked for')
    .action(async (id: string) => {
      console.log(describeChange(await client()<RoleChange>('POST', `/v1/admin/role-changes/${id}/reject`)));
    });
  operator
    .command('changes')
    .description('role changes waiting for a second administrator')
    .action(async () => {
      const { items } = await client()<{ items: RoleChange[] }>(
        'GET',
        '/v1/admin/role-changes?status=pending',
      );
      for (const change of items) console.log(describeChange(change));
    });
}
