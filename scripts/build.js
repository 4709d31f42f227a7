#!/usr/bin/env node
// Compiles every workspace's src/ into its own dist/ so `sm2ca start` runs JavaScript and skips
// tsx's start-up compile. Type checking stays with `npm run typecheck`: an install never fails on it.
// Each dist/ sits beside its src/, so paths built from import.meta.url (migrations, hsm-sim) still hold.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

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

/** Each workspace's package name and the compiled entry its "sm2ca-compiled" export names. */
function compiledEntries() {
  const entries = new Map();
  for (const group of ['packages', 'services']) {
    for (const name of readdirSync(join(root, group))) {
      const dir = join(root, group, name);
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      const entry = manifest.exports?.['.']?.['sm2ca-compiled'];
      if (entry) entries.set(manifest.name, join(dir, entry));
    }
  }
  return entries;
}

function* javascriptFiles(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* javascriptFiles(path);
    else if (entry.name.endsWith('.js')) yield path;
  }
}

// Compiled code imports the other workspaces' compiled code by path: no resolve hook or
// --conditions flag needed to run it. The CLI's hook cost every import a round trip to the
// loader thread, most of a second of CPU at each start.
const entries = compiledEntries();
for (const group of ['packages', 'services', 'cli']) {
  const workspaces = group === 'cli' ? [''] : readdirSync(join(root, group));
  for (const name of workspaces) {
    const dist = join(root, group, name, 'dist');
    if (!existsSync(dist)) continue;
    for (const file of javascriptFiles(dist)) {
      const code = readFileSync(file, 'utf8');
      const linked = code.replace(
        /(\bfrom\s*|\bimport\s*\(\s*)(['"])(@sm2ca\/[\w-]+)\2/g,
        (whole, lead, quote, pkg) => {
          const entry = entries.get(pkg);
          if (!entry) return whole;
          const path = relative(dirname(file), entry);
          return `${lead}${quote}${path.startsWith('.') ? path : `./${path}`}${quote}`;
        },
      );
      if (linked !== code) writeFileSync(file, linked);
    }
  }
}
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
