import { rmSync } from 'node:fs';
import { credentialDigest } from '@sm2ca/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../../test/support/openssl-cli.ts';
import { smCryptoSign } from '../../../test/support/sm-crypto-signer.ts';
import { enrolledOperator, type LoginOperator, opensslSign } from './test-support/operator-login.ts';
import { issuingCaId, useRaTestBed } from './test-support/ra-test-bed.ts';

// The RA's clock runs ahead of the real one by `offset`: expiry, lockout and TOTP time steps are
// driven by moving it, never by waiting.
let offset = 0;
const now = () => new Date(Date.now() + offset);
/** Moves to the next TOTP time step: a code is accepted once. */
const nextStep = () => {
  offset += 30_000;
};

describe('operator certificate login', () => {
  const bed = useRaTestBed({
    login: { now, challengeSeconds: 60, sessionMinutes: 15, maxFailures: 3, lockoutSeconds: 60 },
  });
  const dir = tempDir('ra-login-test-');
  let alice: LoginOperator;

  beforeAll(async () => {
    alice = await enrolledOperator(bed, dir);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const post = (url: string, body: object, token?: string) =>
    bed.app.inject({
      method: 'POST',
      url,
      payload: body,
      ...(token ? { headers: { authorization: `Bearer ${token}` } } : {}),
    });
  const get = (url: string, token: string) =>
    bed.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });

  async function challengeFor(who: LoginOperator): Promise<string> {
    const res = await post('/v1/login/challenge', { certificate: who.certificate.toString('base64') });
    expect(res.statusCode, res.body).toBe(200);
    return res.json().challenge;
  }

  const code = (who: LoginOperator) => who.totp.generate({ timestamp: now().getTime() });

  async function logIn(who: LoginOperator) {
    nextStep();
    const challenge = await challengeFor(who);
    const res = await post('/v1/login', {
      challenge,
      signature: opensslSign(dir, who.keyPath, challenge),
      totp: code(who),
    });
    expect(res.statusCode, res.body).toBe(200);
    return res.json() as { token: string; expiresAt: string; operator: { id: string; name: string } };
  }

  async function refusals(who: LoginOperator): Promise<string[]> {
    const { rows } = await bed.pool.query(
      `SELECT after->>'code' AS code FROM audit_log
        WHERE action = 'operator.login-refuse' AND subject_id = $1 ORDER BY id`,
      [who.id],
    );
    return rows.map((r) => r.code);
  }

  it('logs in with an OpenSSL-signed challenge and TOTP, and the session token works as Bearer', async () => {
    const session = await logIn(alice);
    expect(session.token).toMatch(/^sm2ses_[A-Za-z0-9_-]{43}$/);
    expect(session.operator).toEqual({ id: alice.id, name: alice.name });
    expect(Date.parse(session.expiresAt) - now().getTime()).toBeLessThanOrEqual(15 * 60_000);
    expect((await get('/v1/applications', session.token)).statusCode).toBe(200);
    // Still only the operator's roles: a reviewer does not enter applications.
    const entry = await post('/v1/applications', {}, session.token);
    expect(entry.json().error.code).toBe('ROLE_FORBIDDEN');
    // Only the token's digest is kept.
    const stored = await bed.pool.query('SELECT operator_id FROM operator_sessions WHERE token_digest = $1', [
      credentialDigest(session.token),
    ]);
    expect(stored.rows).toEqual([{ operator_id: alice.id }]);
    const audit = await bed.pool.query(
      "SELECT actor FROM audit_log WHERE action = 'operator.login' AND subject_id = $1",
      [alice.id],
    );
    expect(audit.rows[0]).toEqual({ actor: alice.name });
  });

  it('takes a challenge signed by sm-crypto, an SM2 implementation independent of ours', async () => {
    nextStep();
    const challenge = await challengeFor(alice);
    const signature = smCryptoSign(new TextEncoder().encode(challenge), alice.privateKeyHex).toString(
      'base64',
    );
    const res = await post('/v1/login', { challenge, signature, totp: code(alice) });
    expect(res.statusCode, res.body).toBe(200);
  });

  it('refuses a challenge signed under the empty signer ID (OpenSSL default) with its own code', async () => {
    nextStep();
    const challenge = await challengeFor(alice);
    const res = await post('/v1/login', {
      challenge,
      signature: opensslSign(dir, alice.keyPath, challenge, true),
      totp: code(alice),
    });
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe('LOGIN_SIGNER_ID_WRONG');
    expect((await refusals(alice)).at(-1)).toBe('LOGIN_SIGNER_ID_WRONG');
  });

  it('refuses unknown, replayed and expired challenges, each audited', async () => {
    const unknown = await post('/v1/login', {
      challenge: 'SM2CA operator login\nmade up',
      signature: 'MEUCIQ==',
      totp: '123456',
    });
    expect(unknown.json().error.code).toBe('LOGIN_CHALLENGE_UNKNOWN');

    nextStep();
    const challenge = await challengeFor(alice);
    const body = { challenge, signature: opensslSign(dir, alice.keyPath, challenge), totp: code(alice) };
    expect((await post('/v1/login', body)).statusCode).toBe(200);
    const replayed = await post('/v1/login', body);
    expect(replayed.statusCode).toBe(401);
    expect(replayed.json().error.code).toBe('LOGIN_CHALLENGE_REPLAYED');

    nextStep();
    const late = await challengeFor(alice);
    offset += 61_000;
    const expired = await post('/v1/login', {
      challenge: late,
      signature: opensslSign(dir, alice.keyPath, late),
      totp: code(alice),
    });
    expect(expired.json().error.code).toBe('LOGIN_CHALLENGE_EXPIRED');
    expect((await refusals(alice)).slice(-2)).toEqual([
      'LOGIN_CHALLENGE_REPLAYED',
      'LOGIN_CHALLENGE_EXPIRED',
    ]);
    const anonymous = await bed.pool.query(
      "SELECT actor FROM audit_log WHERE action = 'operator.login-refuse' AND after->>'code' = 'LOGIN_CHALLENGE_UNKNOWN'",
    );
    expect(anonymous.rows[0]).toEqual({ actor: 'anonymous' });
  });

  it('refuses a wrong or reused TOTP code', async () => {
    nextStep();
    const first = await challengeFor(alice);
    const wrong = await post('/v1/login', {
      challenge: first,
      signature: opensslSign(dir, alice.keyPath, first),
      totp: code(alice) === '000000' ? '111111' : '000000',
    });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json().error.code).toBe('LOGIN_TOTP_INVALID');
    const right = code(alice);
    const second = await challengeFor(alice);
    expect(
      (
        await post('/v1/login', {
          challenge: second,
          signature: opensslSign(dir, alice.keyPath, second),
          totp: right,
        })
      ).statusCode,
    ).toBe(200);
    const third = await challengeFor(alice);
    const reused = await post('/v1/login', {
      challenge: third,
      signature: opensslSign(dir, alice.keyPath, third),
      totp: right,
    });
    expect(reused.json().error.code).toBe('LOGIN_TOTP_INVALID');
  });

  it('refuses suspended and revoked certificates, also between challenge and login, and ends their sessions', async () => {
    const bob = await enrolledOperator(bed, dir);
    const setStatus = (status: string) =>
      bed.pool.query('UPDATE certificates SET status = $3 WHERE issuer_id = $1 AND serial = $2', [
        issuingCaId,
        bob.serial,
        status,
      ]);
    const session = await logIn(bob);
    nextStep();
    const challenge = await challengeFor(bob);
    await setStatus('hold');
    // A frozen certificate's sessions end at once, not when they expire.
    expect((await get('/v1/applications', session.token)).json().error.code).toBe('AUTH_SESSION_INVALID');
    const frozen = await post('/v1/login', {
      challenge,
      signature: opensslSign(dir, bob.keyPath, challenge),
      totp: code(bob),
    });
    expect(frozen.statusCode).toBe(403);
    expect(frozen.json().error.code).toBe('LOGIN_CERTIFICATE_SUSPENDED');
    await setStatus('revoked');
    const revoked = await post('/v1/login/challenge', { certificate: bob.certificate.toString('base64') });
    expect(revoked.statusCode).toBe(403);
    expect(revoked.json().error.code).toBe('LOGIN_CERTIFICATE_REVOKED');
    expect(await refusals(bob)).toEqual(['LOGIN_CERTIFICATE_SUSPENDED', 'LOGIN_CERTIFICATE_REVOKED']);
  });

  it('refuses a certificate that is not a bound login certificate of ours', async () => {
    const res = await post('/v1/login/challenge', { certificate: bed.hierarchy.issuing.toString('base64') });
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe('LOGIN_CERTIFICATE_UNKNOWN');
    const garbage = await post('/v1/login/challenge', { certificate: 'bm90IGEgY2VydGlmaWNhdGU=' });
    expect(garbage.json().error.code).toBe('LOGIN_CERTIFICATE_MALFORMED');
  });

  it('locks an operator out after repeated wrong codes, for twice as long after each further failure', async () => {
    const carol = await enrolledOperator(bed, dir);
    const attempt = async (totp: string) => {
      nextStep();
      const challenge = await post('/v1/login/challenge', {
        certificate: carol.certificate.toString('base64'),
      });
      if (challenge.statusCode !== 200) return challenge;
      const text = challenge.json().challenge;
      return post('/v1/login', { challenge: text, signature: opensslSign(dir, carol.keyPath, text), totp });
    };
    const wrong = () => (code(carol) === '999999' ? '888888' : '999999');
    for (let i = 0; i < 3; i++) expect((await attempt(wrong())).json().error.code).toBe('LOGIN_TOTP_INVALID');
    // Locked: even the right code is refused, and so is a new challenge.
    const locked = await attempt(code(carol));
    expect(locked.statusCode).toBe(429);
    expect(locked.json().error).toMatchObject({ code: 'LOGIN_LOCKED' });
    expect(locked.json().error.details.retryAfterSeconds).toBeGreaterThan(20);
    expect(locked.json().error.details.retryAfterSeconds).toBeLessThanOrEqual(60);

    offset += 60_000;
    const again = await attempt(wrong());
    expect(again.json().error.code).toBe('LOGIN_TOTP_INVALID');
    const longer = await attempt(code(carol));
    expect(longer.json().error.code).toBe('LOGIN_LOCKED');
    expect(longer.json().error.details.retryAfterSeconds).toBeGreaterThan(60);

    offset += 120_000;
    expect((await attempt(code(carol))).statusCode).toBe(200);
    const cleared = await bed.pool.query(
      'SELECT count(*)::int AS n FROM login_failures WHERE operator_id = $1',
      [carol.id],
    );
    expect(cleared.rows[0].n).toBe(0);
    expect(await refusals(carol)).toContain('LOGIN_LOCKED');
  });

  it('ends a session at logout and at its expiry', async () => {
    const first = await logIn(alice);
    const out = await post('/v1/logout', {}, first.token);
    expect(out.json()).toEqual({ ended: true });
    const afterLogout = await get('/v1/applications', first.token);
    expect(afterLogout.statusCode).toBe(401);
    expect(afterLogout.json().error.code).toBe('AUTH_SESSION_INVALID');

    const second = await logIn(alice);
    offset += 14 * 60_000;
    expect((await get('/v1/applications', second.token)).statusCode).toBe(200);
    offset += 61_000;
    expect((await get('/v1/applications', second.token)).json().error.code).toBe('AUTH_SESSION_INVALID');
  });

  it('keeps bearer credentials for automation accounts and refuses a person’s', async () => {
    expect((await bed.call('reviewer', 'GET', '/v1/applications')).statusCode).toBe(200);
    const person = await get('/v1/applications', alice.credential);
    expect(person.statusCode).toBe(401);
    expect(person.json().error.code).toBe('AUTH_BEARER_AUTOMATION_ONLY');
    const audited = await bed.pool.query(
      "SELECT after->>'code' AS code FROM audit_log WHERE action = 'operator.bearer-refuse' AND subject_id = $1",
      [alice.id],
    );
    expect(audited.rows).toEqual([{ code: 'AUTH_BEARER_AUTOMATION_ONLY' }]);
    const automation = await bed.call('reviewer', 'POST', '/v1/logout');
    expect(automation.json().error.code).toBe('LOGOUT_NOT_A_SESSION');
  });

  it('enrols only operator-sign certificates, never one’s own, and seals the TOTP secret', async () => {
    const own = await bed.call('superAdmin', 'POST', `/v1/operators/${bed.ids.superAdmin}/login-enrolment`, {
      issuerId: issuingCaId,
      serial: alice.serial,
    });
    expect(own.json().error.code).toBe('LOGIN_ENROL_SELF');
    const taken = await bed.call('superAdmin', 'POST', `/v1/operators/${bed.ids.maker}/login-enrolment`, {
      issuerId: issuingCaId,
      serial: alice.serial,
    });
    // Alice's certificate was applied for her: nobody else can be enrolled with it.
    expect(taken.json().error.code).toBe('LOGIN_CERTIFICATE_OTHER_OPERATOR');
    const clerk = await bed.call('clerk', 'POST', `/v1/operators/${bed.ids.maker}/login-enrolment`, {
      issuerId: issuingCaId,
      serial: alice.serial,
    });
    expect(clerk.json().error.code).toBe('ROLE_FORBIDDEN');
    const unknown = await bed.call('superAdmin', 'POST', `/v1/operators/${bed.ids.maker}/login-enrolment`, {
      issuerId: issuingCaId,
      serial: '7fffffff',
    });
    expect(unknown.json().error.code).toBe('CERTIFICATE_NOT_FOUND');
    const enrolment = await bed.pool.query(
      "SELECT actor, after FROM audit_log WHERE action = 'operator.login-enrol' AND subject_id = $1",
      [alice.id],
    );
    expect(enrolment.rows).toEqual([
      {
        actor: 'op-superAdmin',
        after: { issuerId: issuingCaId, serial: alice.serial, kind: 'person', newTotp: true },
      },
    ]);
    const { rows } = await bed.pool.query('SELECT sealed_secret FROM operator_totp WHERE operator_id = $1', [
      alice.id,
    ]);
    const secret = Buffer.from(alice.totp.secret.bytes);
    expect(rows[0].sealed_secret.includes(secret)).toBe(false);
    const refused = await bed.pool.query(
      "SELECT after->>'code' AS code FROM audit_log WHERE action = 'operator.refuse' ORDER BY id",
    );
    expect(refused.rows.map((r) => r.code)).toEqual(
      expect.arrayContaining([
        'LOGIN_ENROL_SELF',
        'LOGIN_CERTIFICATE_OTHER_OPERATOR',
        'CERTIFICATE_NOT_FOUND',
      ]),
    );
  });
});
