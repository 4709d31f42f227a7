import type { Command } from 'commander';
import { cliContext } from '../context.ts';
import { withDatabase } from '../with-database.ts';

/** `sm2ca directory status`: the publication queue, read from the database as GET /v1/directory does. */
export function registerDirectoryCommands(program: Command): void {
  const directory = program
    .command('directory')
    .description('the directory (LDAP) certificates and CRLs are published to');

  directory
    .command('status')
    .description(
      'how many items wait to be published, the oldest of them and why it waits, the last publication',
    )
    .option('--json', 'the same as JSON')
    .action(async (options: { json?: boolean }) => {
      const { config, log } = cliContext();
      await withDatabase(config, log, async (db) => {
        // The CRL service's code is loaded only by the command that needs it, not at every CLI start.
        const { outboxStatus } = await import('@sm2ca/crl');
        const status = await outboxStatus(db.pool);
        if (options.json) {
          console.log(JSON.stringify(status));
          return;
        }
        const oldest = status.oldestPending;
        console.log(
          [
            `directory:      ${config.directory.url ?? 'local slapd, or off when none is installed (see sm2ca start)'}`,
            `pending:        ${status.pending} (${status.failing} tried and failed so far)`,
            `oldest pending: ${
              oldest
                ? `#${oldest.id} ${oldest.kind}, queued ${oldest.enqueuedAt} (${oldest.ageSeconds} s ago), ${oldest.attempts} attempts${
                    oldest.lastError ? `, last error: ${oldest.lastError}` : ''
                  }`
                : 'none'
            }`,
            `last published: ${status.lastPublishedAt ?? 'never'}`,
          ].join('\n'),
        );
      });
    });
}
