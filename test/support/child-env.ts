/**
 * The environment a test gives the processes it starts: only what it names, plus what the
 * machine needs to run them at all. libfaketime's variables are passed on so that a suite run
 * under `faketime` keeps every child process on the same shifted clock as the test itself.
 */
export function childEnv(env: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const inherited: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME };
  for (const [name, value] of Object.entries(process.env)) {
    if (
      name === 'LD_PRELOAD' ||
      name === 'TZ' ||
      name.startsWith('FAKETIME') ||
      name.startsWith('DONT_FAKE_')
    ) {
      inherited[name] = value;
    }
  }
  return { ...inherited, ...env };
}
