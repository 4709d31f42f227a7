import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import pixelmatch from 'pixelmatch';
import { PNG } from 'pngjs';

/**
 * How far a screenshot is from the kept PNG: the share of pixels that differ beyond pixelmatch's
 * per-pixel threshold (0.3 tolerates font antialiasing between Chromium builds), 1 when the sizes
 * differ. UPDATE_SCREENSHOTS=1 keeps the new screenshot instead and answers 0.
 */
export function screenshotDifference(shot: Buffer, keptPath: string): number {
  if (process.env.UPDATE_SCREENSHOTS === '1') {
    mkdirSync(dirname(keptPath), { recursive: true });
    writeFileSync(keptPath, shot);
    return 0;
  }
  if (!existsSync(keptPath)) throw new Error(`no kept screenshot ${keptPath}: run with UPDATE_SCREENSHOTS=1`);
  const expected = PNG.sync.read(readFileSync(keptPath));
  const actual = PNG.sync.read(shot);
  if (actual.width !== expected.width || actual.height !== expected.height) return 1;
  const differing = pixelmatch(expected.data, actual.data, undefined, actual.width, actual.height, {
    threshold: 0.3,
  });
  return differing / (actual.width * actual.height);
}
