import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '@sm2ca/platform';
import { type LocalDirectory, slapdPath, startLocalDirectory } from './local-directory.ts';
import { progress } from './output.ts';

/** Which directory `sm2ca start` publishes to: the configured one, a local slapd, or none. */
export type DirectoryChoice = 'configured' | 'local' | 'off';

export function directoryChoice(config: Config, slapd = slapdPath): DirectoryChoice {
  if (config.directory.url) return 'configured';
  return existsSync(slapd) ? 'local' : 'off';
}

export interface RunningDirectory {
  /** What the services need to reach it. */
  env: NodeJS.ProcessEnv;
  stop(): Promise<void>;
}

/**
 * Starts the local slapd under <home>/ldap and keeps it up (started again 2 s after it dies;
 * the publisher retries meanwhile and loses nothing). Says in one line where publication goes.
 */
export async function startDirectory(config: Config, choice: DirectoryChoice): Promise<RunningDirectory> {
  if (choice === 'configured') {
    progress(`directory: publishing to ${config.directory.url} (base ${config.directory.baseDn})`);
    return { env: {}, stop: async () => {} };
  }
  if (choice === 'off') {
    progress(
      'directory publication off: set SM2CA_LDAP_URL or install slapd (apt-get install slapd ldap-utils)',
    );
    return { env: {}, stop: async () => {} };
  }
  const options = {
    dir: join(config.home, 'ldap'),
    port: config.directory.localPort,
    baseDn: config.directory.baseDn,
  };
  let current: LocalDirectory = await startLocalDirectory(options);
  let stopping = false;
  const watch = (directory: LocalDirectory) => {
    directory.process.once('exit', (code, signal) => {
      if (stopping) return;
      progress(`local slapd stopped (${signal ?? `code ${code}`}); starting it again in 2 s`);
      setTimeout(() => {
        if (stopping) return;
        startLocalDirectory(options).then(
          (next) => {
            current = next;
            watch(next);
          },
          (err: Error) => progress(`local slapd did not start again: ${err.message}`),
        );
      }, 2_000).unref();
    });
  };
  watch(current);
  progress(
    `directory: local slapd on ${current.url} (base ${config.directory.baseDn}, data in ${options.dir})`,
  );
  return {
    env: {
      SM2CA_LDAP_URL: current.url,
      SM2CA_LDAP_BIND_DN: current.bindDn,
      SM2CA_LDAP_PASSWORD: current.password,
    },
    stop: async () => {
      stopping = true;
      await current.stop();
    },
  };
}
