import { readdirSync, readFileSync } from 'node:fs';

/**
 * CPU seconds used so far by every process descending from this one, grouped by what it is: a
 * service by its `services/<name>/` entry point, PostgreSQL backends together (Linux /proc; utime +
 * stime in ticks of 1/100 s). A process that ended between two samples is missing from the later
 * one, so its share is lost: the figures are lower bounds.
 */
export function processTreeCpu(): Map<string, number> {
  const parent = new Map<number, number>();
  const ticks = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8')
        .replace(/^.*\) /, '')
        .split(' ');
      parent.set(pid, Number(fields[1]));
      ticks.set(pid, Number(fields[11]) + Number(fields[12]));
    } catch {
      // Ended while the table was read.
    }
  }
  const byGroup = new Map<string, number>();
  for (const [pid, used] of ticks) {
    let up = parent.get(pid);
    while (up !== undefined && up !== process.pid && up > 1) up = parent.get(up);
    if (up !== process.pid) continue;
    let cmdline = '';
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    const group = /services\/(\w+)\//.exec(cmdline)?.[1] ?? (/postgres/.test(cmdline) ? 'postgres' : 'other');
    byGroup.set(group, (byGroup.get(group) ?? 0) + used / 100);
  }
  return byGroup;
}
