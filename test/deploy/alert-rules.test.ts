import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const dir = new URL('../../deploy/prometheus/', import.meta.url).pathname;
const promtool = '/usr/bin/promtool';

/** .ci/run installs Debian's prometheus for promtool; a machine without it skips, saying so. */
describe.skipIf(!existsSync(promtool))('Prometheus alert rules in deploy/', () => {
  const run = (args: string[]) => execFileSync(promtool, args, { cwd: dir, encoding: 'utf8' });

  it('are valid rules in a valid scrape configuration', () => {
    expect(run(['check', 'rules', 'alerts.yml'])).toMatch(/SUCCESS: \d+ rules found/);
    expect(run(['check', 'config', 'prometheus.yml'])).toMatch(/is valid prometheus config/);
  });

  it('fire when their unit tests say they should (CRL age, deadlines, burn rate)', () => {
    expect(run(['test', 'rules', 'alerts.test.yml'])).toMatch(/SUCCESS/);
  });
});
