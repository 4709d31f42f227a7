import { readFileSync } from 'node:fs';
import { configuredSoPin, openConfiguredDevice } from '@sm2ca/platform';
import { Command } from 'commander';
import { registerAuditCommands } from './commands/audit.ts';
import { registerClusterCommands } from './commands/cluster.ts';
import { registerDemoCommands } from './commands/demo.ts';
import { registerDeviceCommands } from './commands/device.ts';
import { registerDirectoryCommands } from './commands/directory.ts';
import { registerEvidenceCommands } from './commands/evidence.ts';
import { registerInitCommand } from './commands/init.ts';
import { registerKeyCommands } from './commands/key.ts';
import { registerKmCommands } from './commands/km.ts';
import { registerLintCommand } from './commands/lint.ts';
import { registerLoginCommand } from './commands/login.ts';
import { registerMaintenanceCommands } from './commands/maintenance.ts';
import { registerMigrateCommand } from './commands/migrate.ts';
import { registerOperatorCommands } from './commands/operator.ts';
import { registerReportCommands } from './commands/report.ts';
import { registerStartCommand } from './commands/start.ts';
import { registerTemplateCommands } from './commands/template.ts';
import { cliContext } from './context.ts';
import { describeFailure } from './output.ts';
import { openCommandDatabase } from './with-database.ts';

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

// Errors are one line on stderr, as for every other failure; `--help` is there for the usage.
const program = new Command('sm2ca')
  .description('Operator CLI of the SM2 certificate authority')
  .version(version)
  .configureOutput({ outputError: (text, write) => write(`sm2ca: ${text.replace(/^error: /, '')}`) });

registerStartCommand(program);
registerClusterCommands(program);
registerInitCommand(program);
registerLintCommand(program);
registerDeviceCommands(program, {
  device: () => openConfiguredDevice(cliContext().config),
  database: () => {
    const { config, log } = cliContext();
    return openCommandDatabase(config, log);
  },
});
registerKeyCommands(program, {
  device: (tokenLabel) => {
    const { config } = cliContext();
    return openConfiguredDevice(
      tokenLabel ? { ...config, device: { ...config.device, tokenLabel } } : config,
    );
  },
  soPin: () => configuredSoPin(cliContext().config),
  database: () => {
    const { config, log } = cliContext();
    return openCommandDatabase(config, log);
  },
});
registerMigrateCommand(program);
registerOperatorCommands(program);
registerTemplateCommands(program);
registerMaintenanceCommands(program);
registerLoginCommand(program, {
  raUrl: () => {
    const { ra } = cliContext().config.services;
    return `http://${ra.host}:${ra.port}`;
  },
});
registerKmCommands(program);
registerEvidenceCommands(program);
registerReportCommands(program);
registerDemoCommands(program);
registerDirectoryCommands(program);
registerAuditCommands(program, {
  config: () => cliContext().config,
  database: () => {
    const { config, log } = cliContext();
    return openCommandDatabase(config, log);
  },
  device: () => openConfiguredDevice(cliContext().config),
});

try {
  await program.parseAsync();
} catch (err) {
  process.stderr.write(`sm2ca: ${describeFailure(err)}\n`);
  process.exitCode = 1;
}
