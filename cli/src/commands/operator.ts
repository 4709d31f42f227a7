import { AppError, addOperator, isRole, openDatabase, roleNames, roles } from '@sm2ca/platform';
import type { Command } from 'commander';
import { cliContext } from '../context.ts';

/** Roles are written with dashes on the command line (entry-clerk) and underscores in the API. */
const cliRole = (role: string) => role.replaceAll('_', '-');

export function registerOperatorCommands(program: Command): void {
  const operator = program.command('operator').description('RA operators and their roles');
  operator
    .command('add')
    .description(
      'add an operator and print their one-time credential (a bearer token; only its digest is kept)',
    )
    .requiredOption('--name <name>', 'operator name, unique')
    .requiredOption(
      '--role <role>',
      `one of: ${roles.map((r) => `${cliRole(r)} (${roleNames[r].replace(/ \(.*/, '')})`).join(', ')}`,
    )
    .action(async (options: { name: string; role: string }) => {
      const role = options.role.replaceAll('-', '_');
      if (!isRole(role)) {
        throw new AppError(
          'ROLE_UNKNOWN',
          `unknown role "${options.role}"; one of: ${roles.map(cliRole).join(', ')}`,
        );
      }
      const { config, log } = cliContext();
      const db = await openDatabase(config, log);
      try {
        const { operator: added, credential } = await addOperator(
          db.pool,
          { name: 'cli', role: 'key_ceremony' },
          { name: options.name, role },
        );
        process.stderr.write(
          `added ${added.name} as ${roleNames[added.role]}; the credential is shown once:\n`,
        );
        console.log(credential);
      } finally {
        await db.close();
      }
    });
}
