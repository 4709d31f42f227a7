import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Secret, TOTP } from 'otpauth';
import { gmDistId, openssl, opensslSm2Key } from './openssl-cli.ts';
import type { RaOperators } from './ra-client.ts';
import type { Stack } from './sm2ca-stack.ts';
import { addStackOperator } from './stack-operators.ts';

export interface LoginOperator {
  name: string;
  keyPath: string;
  certificatePath: string;
  totp: TOTP;
}

/**
 * An operator who logs in as a person does: added with their roles, an operator-sign certificate
 * issued through the RA workflow (decided by the stack's super admin) for a key OpenSSL made, and
 * enrolled for login with TOTP. The key and certificate files are left in `dir`.
 */
export async function loginOperator(
  stack: Stack,
  operators: RaOperators,
  dir: string,
  name: string,
  roles: string[],
): Promise<LoginOperator> {
  await addStackOperator(stack, name, roles);
  const key = opensslSm2Key(dir, `${name}.key`);
  const csr = openssl(
    ['req', '-new', '-key', key.keyPath, '-sm3', '-sigopt', gmDistId, '-subj', `/C=CN/CN=${name}`],
    dir,
  ).toString();
  const admin = { authorization: `Bearer ${stack.superAdmin}`, 'content-type': 'application/json' };
  const listed = await fetch(`${stack.url.ra}/v1/admin/operators`, { headers: admin });
  const { items } = (await listed.json()) as { items: Array<{ id: string; name: string }> };
  const id = items.find((operator) => operator.name === name)?.id;
  if (!id) throw new Error(`operator ${name} not listed`);
  // An operator's own certificate: entered by the clerk, decided by a super admin, issued by the maker.
  const entered = await operators.ra('POST', '/v1/applications', 'clerk', {
    holderType: 'person',
    profile: 'operator-sign',
    operatorId: id,
    holder: { commonName: name, identity: { passportNumber: `E${id.padStart(8, '1')}` } },
    csr,
    publishConsent: false,
  });
  if (entered.status !== 201) throw new Error(`enter ${name}: ${entered.text}`);
  const application = entered.json().id as string;
  const approved = await fetch(
    `${stack.url.ra}/v1/admin/operator-certificates/applications/${application}/review`,
    { method: 'POST', headers: admin, body: JSON.stringify({ decision: 'approve' }) },
  );
  if (approved.status !== 200) throw new Error(`approve ${name}: ${await approved.text()}`);
  const issuing = await operators.ra('POST', `/v1/applications/${application}/issue`, 'maker');
  if (issuing.status !== 201) throw new Error(`issue ${name}: ${issuing.text}`);
  const issued = issuing.json() as {
    issuerId: string;
    serial: string;
    download: { reference: string; code: string };
  };
  const download = await operators.ra('POST', '/v1/download', undefined, {
    reference: issued.download.reference,
    code: issued.download.code,
    format: 'pem',
  });
  if (download.status !== 200) throw new Error(`download ${name}: ${download.text}`);
  const certificatePath = join(dir, `${name}.pem`);
  writeFileSync(
    certificatePath,
    /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/.exec(download.text)![0],
  );

  const enrolled = await fetch(`${stack.url.ra}/v1/operators/${id}/login-enrolment`, {
    method: 'POST',
    headers: admin,
    body: JSON.stringify({ issuerId: issued.issuerId, serial: issued.serial }),
  });
  const enrolment = (await enrolled.json()) as { totp?: { secret: string } };
  if (enrolled.status !== 201 || !enrolment.totp)
    throw new Error(`enrol ${name}: ${JSON.stringify(enrolment)}`);
  return {
    name,
    keyPath: key.keyPath,
    certificatePath,
    totp: new TOTP({ secret: Secret.fromBase32(enrolment.totp.secret) }),
  };
}
