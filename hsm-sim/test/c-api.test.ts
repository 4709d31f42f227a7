// Compiles and runs test/c/api-edges.c: NULL pointers, length queries and
// short buffers that pkcs11js never passes. Runs under valgrind when present.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildModule, HSM_DIR, MODULE, tempTokenDir } from './p11.ts';

let work: string;
let dir: string;
let exe: string;

beforeAll(() => {
  buildModule();
  work = mkdtempSync(join(tmpdir(), 'hsmsim-c-'));
  dir = tempTokenDir();
  exe = join(work, 'api-edges');
  execFileSync('gcc', [
    '-std=c11',
    '-Wall',
    '-Wextra',
    '-O1',
    '-g',
    '-o',
    exe,
    join(HSM_DIR, 'test/c/api-edges.c'),
    '-ldl',
  ]);
});

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });
});

describe('C API edge cases', () => {
  it('returns the expected codes and never crashes', () => {
    const useValgrind = existsSync('/usr/bin/valgrind');
    const cmd = useValgrind ? '/usr/bin/valgrind' : exe;
    const args = useValgrind
      ? ['-q', '--leak-check=full', '--errors-for-leak-kinds=definite', '--error-exitcode=99', exe, MODULE]
      : [MODULE];
    const r = spawnSync(cmd, args, {
      // scrypt at full cost under valgrind would take most of the time: the PINs here test codes, not cost.
      env: { ...process.env, HSMSIM_DIR: dir, HSMSIM_SCRYPT_LOG2N: '10' },
      encoding: 'utf8',
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  }, 60_000);
});
