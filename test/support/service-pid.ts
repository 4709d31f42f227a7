import { readdirSync, readFileSync } from 'node:fs';
import type { Stack } from './sm2ca-stack.ts';

/** The pid of one service of this stack: the process running its main (source or compiled) under the stack's home. */
export function servicePid(stack: Stack, service: string): number {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (
        !cmdline.includes(`services/${service}/src/main.ts`) &&
        !cmdline.includes(`services/${service}/dist/main.js`)
      )
        continue;
      const environ = readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0');
      if (environ.includes(`SM2CA_HOME=${stack.env.SM2CA_HOME}`)) return Number(entry);
    } catch {
      // A process that ended while we looked.
    }
  }
  throw new Error(`no ${service} process of this stack`);
}
