import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { derToPem } from '@sm2ca/pki';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  enrolledOperator,
  type LoginOperator,
} from '../../../services/ra/src/test-support/operator-login.ts';
import { useRaTestBed } from '../../../services/ra/src/test-support/ra-test-bed.ts';
import { runCommand } from '../../../test/support/cli-command.ts';
import { tempDir } from '../../../test/support/openssl-cli.ts';
import { registerLoginCommand } from './login.ts';

describe('sm2ca login', () => {
  const bed = useRaTestBed();
  const dir = tempDir('cli-login-test-');
  let operator: LoginOperator;
  let url = '';
  let certFile = '';

  beforeAll(async () => {
    operator = await enrolledOperator(bed, dir);
    certFile = join(dir, 'operator.pem');
    writeFileSync(certFile, derToPem(operator.certificate, 'CERTIFICATE'));
    url = await bed.app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const login = (totp: string) =>
    runCommand(
      (program) => registerLoginCommand(program, { raUrl: () => url }),
      ['login', '--key', operator.keyPath, '--cert', certFile, '--totp', totp],
    );

  it('signs the challenge with the operator key file and prints a session token that works', async () => {
    const token = (await login(operator.totp.generate())).trim();
    expect(token).toMatch(/^sm2ses_/);
    const res = await fetch(`${url}/v1/applications`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
  });

  it('reports the RA refusal with its code', async () => {
    const wrong = operator.totp.generate() === '000000' ? '111111' : '000000';
    await expect(login(wrong)).rejects.toMatchObject({ code: 'LOGIN_TOTP_INVALID' });
  });
});
