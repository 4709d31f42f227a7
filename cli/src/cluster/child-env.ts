/**
 * The environment given to a started process (a test's, the HA stack's): only what the caller
 * names, plus what the machine needs to run it at all. libfaketime's variables are passed on so
 * that a run under `faketime` keeps every child process on the same shifted clock as its parent.
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
