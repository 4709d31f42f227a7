import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { addOperator, type Role } from '@sm2ca/platform';
import { Secret, TOTP } from 'otpauth';
import { expect } from 'vitest';
import { gmDistId, openssl, opensslSm2Key } from '../../../../test/support/openssl-cli.ts';
import { issuingCaId, type RaTestBed } from './ra-test-bed.ts';

export interface LoginOperator {
  id: string;
  name: string;
  /** The long-lived credential addOperator gave (refused once the operator is a person). */
  credential: string;
  keyPath: string;
  /** The same key's scalar, for signers other than OpenSSL. */
  privateKeyHex: string;
  certificate: Buffer;
  serial: string;
  totp: TOTP;
}

const cli = { name: 'cli', role: 'ceremony' };

/**
 * An operator-sign certificate through the RA workflow (entry, a super admin's approval, issue) for
 * a key OpenSSL made in `dir`, then a super admin's enrolment: the operator is a person from then on.
 */
export async function enrolledOperator(
  bed: RaTestBed,
  dir: string,
  role: Role = 'reviewer',
): Promise<LoginOperator> {
  const name = `person-${randomBytes(4).toString('hex')}`;
  const { operator, credential } = await addOperator(bed.pool, cli, {
    name,
    identity: `id-${name}`,
    roles: [role],
  });
  const key = opensslSm2Key(dir, `${name}.key`);
  const csr = openssl(
    [
      'req',
      '-new',
      '-key',
      key.keyPath,
      '-sm3',
      '-sigopt',
      gmDistId,
      '-subj',
      `/CN=${name}`,
      '-outform',
      'PEM',
    ],
    dir,
  ).toString();
  const entered = await bed.call('clerk', 'POST', '/v1/applications', {
    holderType: 'person',
    profile: 'operator-sign',
    holder: {
      commonName: name,
      identity: { passportNumber: `E${randomBytes(5).toString('hex').toUpperCase()}` },
    },
    operatorId: operator.id,
    csr,
    publishConsent: false,
  });
  expect(entered.statusCode, entered.body).toBe(201);
  const { id } = entered.json();
  const approved = await bed.call(
    'superAdmin',
    'POST',
    `/v1/admin/operator-certificates/applications/${id}/review`,
    {
      decision: 'approve',
    },
  );
  expect(approved.statusCode, approved.body).toBe(200);
  const issued = await bed.call('maker', 'POST', `/v1/applications/${id}/issue`);
  expect(issued.statusCode, issued.body).toBe(201);
  const { serial } = issued.json();
  const { rows } = await bed.pool.query('SELECT der FROM certificates WHERE issuer_id = $1 AND serial = $2', [
    issuingCaId,
    serial,
  ]);
  const enrolled = await bed.call('superAdmin', 'POST', `/v1/operators/${operator.id}/login-enrolment`, {
    issuerId: issuingCaId,
    serial,
  });
  expect(enrolled.statusCode, enrolled.body).toBe(201);
  const secret = enrolled.json().totp.secret as string;
  return {
    id: operator.id,
    name,
    credential,
    keyPath: key.keyPath,
    privateKeyHex: key.privateKeyHex,
    certificate: rows[0].der,
    serial,
    totp: new TOTP({ secret: Secret.fromBase32(secret) }),
  };
}

/** OpenSSL's DER SM2-with-SM3 signature of `text`, under the GM default ID unless told `emptyId`. */
export function opensslSign(dir: string, keyPath: string, text: string, emptyId = false): string {
  const file = join(dir, `challenge-${randomBytes(4).toString('hex')}.txt`);
  writeFileSync(file, text);
  const args = ['dgst', '-sm3', ...(emptyId ? [] : ['-sigopt', gmDistId]), '-sign', keyPath, file];
  return openssl(args).toString('base64');
}
