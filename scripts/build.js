#!/usr/bin/env node
// Compiles every workspace's src/ into its own dist/ so `sm2ca start` runs JavaScript and skips
// tsx's start-up compile. Type checking stays with `npm run typecheck`: an install never fails on it.
// Each dist/ sits beside its src/, so paths built from import.meta.url (migrations, hsm-sim) still hold.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const staging = join(root, '.build');
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');

if (!existsSync(tsc)) {
  // `npm ci --omit=dev` has no compiler: the CLI then runs the source through tsx.
  console.warn('sm2ca build: TypeScript is not installed; skipped (services run through tsx)');
  process.exit(0);
}
rmSync(staging, { recursive: true, force: true });
execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
for (const group of ['packages', 'services', 'cli']) {
  const workspaces = group === 'cli' ? [''] : readdirSync(join(staging, group));
  for (const name of workspaces) {
    const from = join(staging, group, name, 'src');
    if (!existsSync(from)) continue;
    const to = join(root, group, name, 'dist');
    rmSync(to, { recursive: true, force: true });
    renameSync(from, to);
  }
}
rmSync(staging, { recursive: true, force: true });
// The operators' console: static assets the RA serves under /console/ (services/ra/src/console-assets.ts).
execFileSync(
  process.execPath,
  [join(root, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--logLevel', 'warn'],
  {
    cwd: join(root, 'console'),
    stdio: 'inherit',
  },
);
// Written last: the CLI runs the compiled code only while this is newer than every source file.
writeFileSync(join(root, 'cli', 'dist', 'built-at'), `${new Date().toISOString()}\n`);
