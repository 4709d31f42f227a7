import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { derToPem } from '@sm2ca/pki';
import { afterEach, describe, expect, it } from 'vitest';
import { testHierarchy } from '../../../packages/pki/src/test-support/test-hierarchy.ts';
import { runCommand } from '../../../test/support/cli-command.ts';
import { tempDir } from '../../../test/support/openssl-cli.ts';
import { registerLintCommand } from './lint.ts';

async function run(...args: string[]): Promise<{ out: string; exitCode: number | undefined }> {
  const out = await runCommand(registerLintCommand, args);
  return { out, exitCode: process.exitCode as number | undefined };
}

describe('sm2ca lint', async () => {
  const { root, sub, leaf } = await testHierarchy();
  const dir = tempDir();
  writeFileSync(join(dir, 'root.pem'), derToPem(root.der, 'CERTIFICATE'));
  writeFileSync(join(dir, 'sub.der'), sub.der);
  writeFileSync(join(dir, 'leaf.pem'), derToPem(leaf.der, 'CERTIFICATE'));
  afterEach(() => {
    process.exitCode = undefined;
  });

  it('passes a good certificate (PEM or DER) and exits 0', async () => {
    const { out, exitCode } = await run(
      'lint',
      join(dir, 'leaf.pem'),
      '--issuer',
      join(dir, 'sub.der'),
      '--profile',
      'person-sign',
    );
    expect(out).toBe('OK: no findings\n');
    expect(exitCode).toBe(0);
  });

  it('prints the findings and exits 1 when there is an error', async () => {
    const { out, exitCode } = await run('lint', join(dir, 'leaf.pem'), '--issuer', join(dir, 'root.pem'));
    expect(out).toContain('error   ISSUER_NAME_MISMATCH');
    expect(out).toContain('error   SIGNATURE_INVALID');
    expect(exitCode).toBe(1);
  });
});
