import { openConfiguredDevice } from '@sm2ca/platform';
import { Command } from 'commander';
import { registerDeviceCommands } from './commands/device.ts';
import { registerInitCommand } from './commands/init.ts';
import { registerLintCommand } from './commands/lint.ts';
import { registerMigrateCommand } from './commands/migrate.ts';
import { registerOperatorCommands } from './commands/operator.ts';
import { registerStartCommand } from './commands/start.ts';
import { cliContext } from './context.ts';
import { describeFailure } from './output.ts';

const program = new Command('sm2ca')
  .description('Operator CLI of the SM2 certificate authority')
  .showHelpAfterError()
  .configureOutput({ outputError: (text, write) => write(text) });

registerStartCommand(program);
registerInitCommand(program);
registerLintCommand(program);
registerDeviceCommands(program, () => openConfiguredDevice(cliContext().config));
registerMigrateCommand(program);
registerOperatorCommands(program);

try {
  await program.parseAsync();
} catch (err) {
  process.stderr.write(`sm2ca: ${describeFailure(err)}\n`);
  process.exitCode = 1;
}
