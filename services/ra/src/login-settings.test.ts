import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../../test/support/openssl-cli.ts';
import { enrolledOperator, type LoginOperator } from './test-support/operator-login.ts';
import { useRaTestBed } from './test-support/ra-test-bed.ts';
import { TotpSeal } from './totp-seal.ts';

const sealKey = randomBytes(32);

/** Login as the SM2CA_LOGIN_* settings and SM2CA_TOTP_SEAL_KEY shape it, and the challenge rate limit. */
describe('login settings', () => {
  const bed = useRaTestBed({
    env: {
      SM2CA_LOGIN_CHALLENGE_SECONDS: '30',
      SM2CA_LOGIN_CHALLENGES_PER_MINUTE: '3',
      SM2CA_TOTP_SEAL_KEY: sealKey.toString('hex'),
    },
  });
  const dir = tempDir('ra-login-settings-');
  let alice: LoginOperator;

  beforeAll(async () => {
    alice = await enrolledOperator(bed, dir);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const challenge = (remoteAddress: string, certificate: string) =>
    bed.app.inject({ method: 'POST', url: '/v1/login/challenge', remoteAddress, payload: { certificate } });

  it('gives a challenge the configured life', async () => {
    const answer = await challenge('192.0.2.10', alice.certificate.toString('base64'));
    expect(answer.statusCode, answer.body).toBe(200);
    const life = new Date(answer.json().expiresAt).getTime() - Date.now();
    expect(life).toBeGreaterThan(25_000);
    expect(life).toBeLessThanOrEqual(30_000);
  });

  it('limits anonymous challenge requests per client address, with a stable 429', async () => {
    for (let i = 0; i < 3; i++) {
      expect((await challenge('192.0.2.1', 'bm90IGEgY2VydA==')).statusCode).toBe(400);
    }
    const limited = await challenge('192.0.2.1', alice.certificate.toString('base64'));
    expect(limited.statusCode).toBe(429);
    expect(limited.json().error.code).toBe('LOGIN_CHALLENGE_RATE_LIMITED');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    // Another address is not held back by the first one's requests.
    expect((await challenge('192.0.2.2', alice.certificate.toString('base64'))).statusCode).toBe(200);
  });

  it('seals TOTP secrets under the key from the environment, and writes no key file', async () => {
    expect(existsSync(join(bed.home, 'secrets', 'totp-seal.key'))).toBe(false);
    const { rows } = await bed.pool.query('SELECT sealed_secret FROM operator_totp WHERE operator_id = $1', [
      alice.id,
    ]);
    const opened = TotpSeal.fromText(sealKey.toString('base64')).open(alice.id, rows[0].sealed_secret);
    expect(opened).toEqual(Buffer.from(alice.totp.secret.bytes));
  });
});
