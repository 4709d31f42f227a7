import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('../../', import.meta.url).pathname;

function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (!entry.name.endsWith('.test.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/** True when scripts/build.js ran after the last change to any workspace's source. */
export function compiledBuildIsCurrent() {
  let builtAt;
  try {
    builtAt = statSync(join(root, 'cli', 'dist', 'built-at')).mtimeMs;
  } catch {
    return false;
  }
  const sources = [join(root, 'cli', 'src')];
  for (const group of ['packages', 'services']) {
    for (const name of readdirSync(join(root, group))) sources.push(join(root, group, name, 'src'));
  }
  return sources.every((dir) => newestSource(dir) < builtAt);
}
