import { Command } from 'commander';
import { vi } from 'vitest';

/**
 * Runs `sm2ca ARGS` in-process with the commands `register` adds; answers what it printed.
 * Commander's exits become throws, so a failing command fails the test instead of the worker.
 */
export async function runCommand(register: (program: Command) => void, args: string[]): Promise<string> {
  const program = new Command('sm2ca').exitOverride();
  register(program);
  let out = '';
  // vitest routes console.log past process.stdout, so both are captured.
  const log = vi.spyOn(console, 'log').mockImplementation((text: string) => {
    out += `${text}\n`;
  });
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += chunk.toString();
    return true;
  });
  try {
    await program.parseAsync(args, { from: 'user' });
  } finally {
    log.mockRestore();
    write.mockRestore();
  }
  return out;
}
