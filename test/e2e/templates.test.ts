import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OIDS, type TemplateBody, templateOfProfile } from '@sm2ca/pki';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gmDistId, openssl, opensslHolderCsr } from '../support/openssl-cli.ts';
import { type RaOperators, raOperators } from '../support/ra-client.ts';
import { type Stack, startStack } from '../support/sm2ca-stack.ts';
import { addStackOperator } from '../support/stack-operators.ts';
import { createTestDatabase } from '../support/test-database.ts';

const DAY_MS = 86_400_000;

/**
 * Certificate templates end to end with every service its own process: one business
 * administrator drafts through `sm2ca template`, lint refuses a bad draft, another
 * administrator approves a good one, an application is entered and issued under it, and the
 * certificate (read by OpenSSL and `sm2ca lint`) carries the template's validity and usages.
 * A template under a name of its own, with its own encryption twin, is used by single, dual,
 * batch and renewal applications.
 */
describe('certificate templates end to end', () => {
  let stack: Stack;
  let drop: () => Promise<void>;
  let ra: RaOperators['ra'];
  const admin: Record<'a' | 'b', string> = { a: '', b: '' };
  const dir = mkdtempSync(join(tmpdir(), 'e2e-templates-'));

  beforeAll(async () => {
    const db = await createTestDatabase();
    drop = db.drop;
    // Under the services' own database roles: the grants of migration 0023 are part of what is tested.
    stack = await startStack(db.url, { SM2CA_SERVICE_ROLES: '1' }, ['ca', 'ra', 'km']);
    ({ ra } = await raOperators(stack));
    [admin.a, admin.b] = await Promise.all([
      addStackOperator(stack, 'admin-a', ['business-admin']),
      addStackOperator(stack, 'admin-b', ['business-admin']),
    ]);
  }, 240_000);
  afterAll(async () => {
    await stack?.stop();
    await drop?.();
    rmSync(dir, { recursive: true, force: true });
  });

  const template = (as: 'a' | 'b', args: string[]) =>
    stack.cli(['template', ...args], { SM2CA_OPERATOR_CREDENTIAL: admin[as] });
  const asAdmin = async (as: 'a' | 'b', method: string, path: string, body?: unknown) => {
    const res = await fetch(`${stack.url.ra}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${admin[as]}`,
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, text, json: () => JSON.parse(text) };
  };
  const draftFile = (name: string, body: unknown) => {
    const file = join(dir, name);
    writeFileSync(file, JSON.stringify(body));
    return file;
  };
  const apply = (commonName: string, templateVersion?: number) =>
    ra('POST', '/v1/applications', 'clerk', {
      holderType: 'person',
      profile: 'person-sign',
      holder: { commonName, identity: { residentId: '11010519491231002X' } },
      csr: opensslHolderCsr(dir, `holder-${commonName}`, '/C=CN/CN=holder'),
      publishConsent: false,
      ...(templateVersion ? { templateVersion } : {}),
    });

  const good: TemplateBody = {
    ...templateOfProfile('person-sign', ['person'], { sameKeyRenewal: true, supersede: 'revoke' }),
    description: 'Client login certificate of a person, 400 days',
    validityDays: 400,
    keyUsage: ['digitalSignature'],
    extendedKeyUsage: [OIDS.kpClientAuth],
    subject: {
      required: ['C', 'CN'],
      allowed: ['C', 'O', 'CN'],
      patterns: { CN: '[A-Z][a-z]+ [A-Z][a-z]+' },
    },
  };

  it('lists the built-in profiles as approved version 1', async () => {
    const { items } = (await asAdmin('a', 'GET', '/v1/admin/templates')).json();
    expect(items).toHaveLength(9);
    for (const t of items) expect(t).toMatchObject({ version: 1, status: 'approved', draftedBy: null });
    expect(items.find((t: { name: string }) => t.name === 'tls-server').body.validityDays).toBe(398);
  });

  it('refuses an unknown field and keeps nothing', async () => {
    const res = await asAdmin('a', 'POST', '/v1/admin/templates/person-sign/versions', {
      ...good,
      colour: 'red',
    });
    expect(res.status, res.text).toBe(400);
    const { items } = (await asAdmin('a', 'GET', '/v1/admin/templates')).json();
    expect(items.filter((t: { name: string }) => t.name === 'person-sign')).toHaveLength(1);
  });

  it('keeps a draft that fails lint and refuses its approval listing the findings', async () => {
    const bad = { ...good, keyUsage: ['digitalSignature', 'keyAgreement'] };
    const drafted = await template('a', ['draft', 'person-sign', draftFile('bad.json', bad)]);
    expect(drafted.code, drafted.stderr).toBe(0);
    expect(drafted.stdout).toMatch(/^person-sign\t2\tdraft\t/);
    expect(drafted.stderr).toContain('KEY_USAGE_MIXED');
    const refused = await template('b', ['approve', 'person-sign', '2']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('TEMPLATE_LINT_FAILED');
    const viaApi = await asAdmin('b', 'POST', '/v1/admin/templates/person-sign/versions/2/approve');
    expect(viaApi.status).toBe(422);
    expect(viaApi.json().error.details.findings.map((f: { code: string }) => f.code)).toContain(
      'KEY_USAGE_MIXED',
    );
    const shown = (await asAdmin('a', 'GET', '/v1/admin/templates/person-sign/versions/2')).json();
    expect(shown.status).toBe('draft');
    const rejected = await asAdmin('b', 'POST', '/v1/admin/templates/person-sign/versions/2/reject', {
      reason: 'mixed key usage',
    });
    expect(rejected.json().status).toBe('rejected');
  });

  it('approves a good draft only by another administrator, then issues under it', async () => {
    const drafted = await asAdmin('a', 'POST', '/v1/admin/templates/person-sign/versions', good);
    expect(drafted.status, drafted.text).toBe(201);
    expect(drafted.json()).toMatchObject({ version: 3, status: 'draft', findings: [] });

    const early = await apply('Early Bird', 3);
    expect(early.status, early.text).toBe(422);
    expect(early.json().error.code).toBe('TEMPLATE_NOT_APPROVED');

    const own = await asAdmin('a', 'POST', '/v1/admin/templates/person-sign/versions/3/approve');
    expect(own.status).toBe(403);
    expect(own.json().error.code).toBe('TEMPLATE_OWN_DRAFT');
    const approved = await template('b', ['approve', 'person-sign', '3']);
    expect(approved.code, approved.stderr).toBe(0);
    expect(approved.stdout).toMatch(/^person-sign\t3\tapproved\t400d\tadmin-a\t/);

    const badName = await apply('wang li');
    expect(badName.status).toBe(422);
    expect(badName.json().error.code).toBe('TEMPLATE_SUBJECT');

    const entered = await apply('Wang Li');
    expect(entered.status, entered.text).toBe(201);
    expect(entered.json().templateVersion).toBe(3);
    const id = entered.json().id;
    expect(
      (await ra('POST', `/v1/applications/${id}/review`, 'reviewer', { decision: 'approve' })).status,
    ).toBe(200);
    const issued = await ra('POST', `/v1/applications/${id}/issue`, 'maker');
    expect(issued.status, issued.text).toBe(201);
    const { reference, code } = issued.json().download;
    const download = await ra('POST', '/v1/download', undefined, { reference, code, format: 'pem' });
    expect(download.status, download.text).toBe(200);
    const [leaf, sub] = download.text.match(
      /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g,
    )!;
    writeFileSync(join(dir, 'leaf.pem'), leaf!);
    writeFileSync(join(dir, 'sub.pem'), sub!);

    expect(
      openssl(
        ['verify', '-vfyopt', gmDistId, '-partial_chain', '-CAfile', 'sub.pem', 'leaf.pem'],
        dir,
      ).toString(),
    ).toContain('leaf.pem: OK');
    const text = openssl(['x509', '-in', 'leaf.pem', '-noout', '-text'], dir).toString();
    expect(text).toMatch(/X509v3 Key Usage: critical\s+Digital Signature\n/);
    expect(text).toContain('TLS Web Client Authentication');
    const dates = openssl(['x509', '-in', 'leaf.pem', '-noout', '-startdate', '-enddate'], dir).toString();
    const [, start, end] = /notBefore=(.+)\nnotAfter=(.+)/.exec(dates)!;
    const days = (Date.parse(end!) - Date.parse(start!)) / DAY_MS;
    // The template's 400 days, unless the test stack's issuing CA ends first.
    const caEnd = Date.parse(
      /notAfter=(.+)/.exec(openssl(['x509', '-in', 'sub.pem', '-noout', '-enddate'], dir).toString())![1]!,
    );
    expect(Math.round(days)).toBe(Math.min(400, Math.round((caEnd - Date.parse(start!)) / DAY_MS)));
    const lint = await stack.cli(['lint', join(dir, 'leaf.pem'), '--issuer', join(dir, 'sub.pem')]);
    expect(lint.code, lint.stdout + lint.stderr).toBe(0);
  });

  it('retires a version with four eyes: no new application under it, and the CA refuses it too', async () => {
    const v4 = await asAdmin('a', 'POST', '/v1/admin/templates/person-sign/versions', {
      ...good,
      description: 'version 4',
    });
    expect(v4.status, v4.text).toBe(201);
    expect(v4.json().version).toBe(4);
    expect((await asAdmin('b', 'POST', '/v1/admin/templates/person-sign/versions/4/approve')).status).toBe(
      200,
    );
    // Entered and reviewed under version 4; the CA has not seen version 4 yet.
    const entered = await apply('Zhao Min', 4);
    expect(entered.status, entered.text).toBe(201);
    const id = entered.json().id;
    expect(
      (await ra('POST', `/v1/applications/${id}/review`, 'reviewer', { decision: 'approve' })).status,
    ).toBe(200);

    const asked = await asAdmin('b', 'POST', '/v1/admin/templates/person-sign/versions/4/retire');
    expect(asked.json()).toMatchObject({ status: 'approved', retirementRequestedBy: 'admin-b' });
    const own = await asAdmin('b', 'POST', '/v1/admin/templates/person-sign/versions/4/approve');
    expect(own.json().error.code).toBe('TEMPLATE_OWN_RETIREMENT');
    const retired = await template('a', ['approve', 'person-sign', '4']);
    expect(retired.code, retired.stderr).toBe(0);
    expect(retired.stdout).toMatch(/^person-sign\t4\tretired\t/);

    const refused = await apply('Sun Wei', 4);
    expect(refused.json().error.code).toBe('TEMPLATE_NOT_APPROVED');
    // Without a version the newest approved one (3) is used.
    const fallback = await apply('Sun Wei');
    expect(fallback.status, fallback.text).toBe(201);
    expect(fallback.json().templateVersion).toBe(3);

    const issued = await ra('POST', `/v1/applications/${id}/issue`, 'maker');
    expect(issued.status).toBeGreaterThanOrEqual(400);
    const after = (await ra('GET', `/v1/applications/${id}`, 'reviewer')).json();
    expect(JSON.stringify(after.issueError)).toContain('TEMPLATE_NOT_APPROVED');
  });

  const staffSubject: TemplateBody['subject'] = {
    required: ['C', 'O', 'CN'],
    allowed: ['C', 'O', 'OU', 'CN'],
    patterns: { O: '国家税务总局.+税务局' },
  };
  const staff: TemplateBody = {
    ...templateOfProfile('person-sign', ['person'], { sameKeyRenewal: false, supersede: 'revoke' }),
    kind: 'person-sign',
    description: 'Signature certificate of tax bureau staff, one year',
    validityDays: 365,
    subject: staffSubject,
    identity: ['identifyCode'],
    encryptionTemplate: 'tax-bureau-staff-encrypt',
  };
  const staffEncrypt: TemplateBody = {
    ...templateOfProfile('person-encrypt', ['person']),
    kind: 'person-encrypt',
    description: 'Encryption certificate of tax bureau staff, one year',
    validityDays: 365,
    subject: staffSubject,
    identity: ['identifyCode'],
  };
  const staffHolder = (commonName: string) => ({
    commonName,
    organization: '国家税务总局北京市税务局',
    identity: { residentId: '11010519491231002X' },
  });
  const applyStaff = (commonName: string, extra: Record<string, unknown> = {}) =>
    ra('POST', '/v1/applications', 'clerk', {
      holderType: 'person',
      profile: 'person-sign',
      template: 'tax-bureau-staff',
      holder: staffHolder(commonName),
      csr: opensslHolderCsr(dir, `staff-${commonName}`, '/C=CN/CN=holder'),
      publishConsent: false,
      ...extra,
    });
  /** Reviews and issues an application, and writes what was issued as PEM files named after `prefix`. */
  const reviewAndIssue = async (id: string, prefix: string) => {
    const reviewed = await ra('POST', `/v1/applications/${id}/review`, 'reviewer', { decision: 'approve' });
    expect(reviewed.status, reviewed.text).toBe(200);
    const issued = await ra('POST', `/v1/applications/${id}/issue`, 'maker');
    expect(issued.status, issued.text).toBe(201);
    const { download, issuerId, serial, encryption } = issued.json();
    const res = await ra('POST', '/v1/download', undefined, {
      reference: download.reference,
      code: download.code,
      format: 'der',
    });
    expect(res.status, res.text).toBe(200);
    const body = res.json();
    const pem = (der: string) =>
      `-----BEGIN CERTIFICATE-----\n${der.match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`;
    writeFileSync(join(dir, `${prefix}.pem`), pem(body.certificate));
    writeFileSync(join(dir, 'sub.pem'), pem(body.chain[0]));
    if (body.encryption) writeFileSync(join(dir, `${prefix}-encrypt.pem`), pem(body.encryption.certificate));
    return { issuerId: issuerId as string, serial: serial as string, encryption };
  };
  const days = (file: string) => {
    const dates = openssl(['x509', '-in', file, '-noout', '-startdate', '-enddate'], dir).toString();
    const [, start, end] = /notBefore=(.+)\nnotAfter=(.+)/.exec(dates)!;
    return Math.round((Date.parse(end!) - Date.parse(start!)) / DAY_MS);
  };
  const lintClean = async (file: string) => {
    const lint = await stack.cli(['lint', join(dir, file), '--issuer', join(dir, 'sub.pem')]);
    expect(lint.code, `${file}: ${lint.stdout}${lint.stderr}`).toBe(0);
  };

  it('drafts a template under a new name: it needs a kind, another approver and an approved twin', async () => {
    const kindless = await asAdmin('a', 'POST', '/v1/admin/templates/tax-bureau-staff/versions', {
      ...staff,
      kind: undefined,
    });
    expect(kindless.status, kindless.text).toBe(201);
    expect(kindless.json().findings.map((f: { code: string }) => f.code)).toEqual(['TEMPLATE_KIND']);
    const unlinted = await asAdmin('b', 'POST', '/v1/admin/templates/tax-bureau-staff/versions/1/approve');
    expect(unlinted.status).toBe(422);
    expect(unlinted.json().error.code).toBe('TEMPLATE_LINT_FAILED');
    await asAdmin('b', 'POST', '/v1/admin/templates/tax-bureau-staff/versions/1/reject', {
      reason: 'no kind',
    });

    const drafted = await template('a', ['draft', 'tax-bureau-staff', draftFile('staff.json', staff)]);
    expect(drafted.code, drafted.stderr).toBe(0);
    expect(drafted.stdout).toMatch(/^tax-bureau-staff\t2\tdraft\t365d\tadmin-a\t/);

    // Its twin does not exist yet: the approval is refused and the draft stays a draft.
    const twinless = await asAdmin('b', 'POST', '/v1/admin/templates/tax-bureau-staff/versions/2/approve');
    expect(twinless.status).toBe(422);
    expect(twinless.json().error.code).toBe('TEMPLATE_UNKNOWN');
    const own = await template('a', ['approve', 'tax-bureau-staff', '2']);
    expect(own.code).not.toBe(0);
    expect(own.stderr).toContain('TEMPLATE_OWN_DRAFT');

    const twin = await template('b', [
      'draft',
      'tax-bureau-staff-encrypt',
      draftFile('twin.json', staffEncrypt),
    ]);
    expect(twin.code, twin.stderr).toBe(0);
    expect((await template('a', ['approve', 'tax-bureau-staff-encrypt', '1'])).code).toBe(0);
    const approved = await template('b', ['approve', 'tax-bureau-staff', '2']);
    expect(approved.code, approved.stderr).toBe(0);
    expect(approved.stdout).toMatch(/^tax-bureau-staff\t2\tapproved\t/);
    const listed = await template('a', ['list']);
    expect(listed.stdout).toMatch(/^tax-bureau-staff-encrypt\t1\tapproved\t365d\tadmin-b\t/m);

    // A name keeps its kind: a device template takes a name of its own.
    const otherKind = await asAdmin('a', 'POST', '/v1/admin/templates/tax-bureau-staff/versions', {
      ...staff,
      kind: 'device-sign',
      holderTypes: ['device'],
    });
    expect(otherKind.status, otherKind.text).toBe(422);
    expect(otherKind.json().error.code).toBe('TEMPLATE_KIND_CHANGED');
    const versions = (await asAdmin('a', 'GET', '/v1/admin/templates'))
      .json()
      .items.filter((t: { name: string }) => t.name === 'tax-bureau-staff');
    expect(versions.map((t: { status: string }) => t.status)).toEqual(['rejected', 'approved']);
  }, 180_000);

  it('refuses an unknown template, one of another kind and a subject outside it, keeping nothing', async () => {
    const entered = async () =>
      (
        await ra('GET', '/v1/applications?holderKey=resident-id:11010519491231002X&limit=500', 'reviewer')
      ).json().items.length;
    const before = await entered();
    const unknown = await applyStaff('Li Na', { template: 'tax-bureau-chief' });
    expect(unknown.status, unknown.text).toBe(422);
    expect(unknown.json().error.code).toBe('TEMPLATE_UNKNOWN');
    const otherKind = await applyStaff('Li Na', { template: 'tax-bureau-staff-encrypt' });
    expect(otherKind.json().error.code).toBe('TEMPLATE_KIND_MISMATCH');
    const draft = await applyStaff('Li Na', { templateVersion: 1 });
    expect(draft.json().error.code).toBe('TEMPLATE_NOT_APPROVED');
    const outside = await applyStaff('Li Na', {
      holder: { ...staffHolder('Li Na'), organization: 'Some Company' },
    });
    expect(outside.json().error.code).toBe('TEMPLATE_SUBJECT');
    expect(await entered()).toBe(before);
  }, 180_000);

  it('issues a single certificate under the new name, and renews under it', async () => {
    const entered = await applyStaff('Li Na');
    expect(entered.status, entered.text).toBe(201);
    expect(entered.json()).toMatchObject({
      profile: 'person-sign',
      template: 'tax-bureau-staff',
      templateVersion: 2,
    });
    const { issuerId, serial } = await reviewAndIssue(entered.json().id, 'staff');
    const text = openssl(['x509', '-in', 'staff.pem', '-noout', '-text', '-nameopt', 'utf8'], dir).toString();
    expect(text).toContain('O=国家税务总局北京市税务局');
    expect(text).toMatch(/X509v3 Key Usage: critical\s+Digital Signature, Non Repudiation\n/);
    const caDays = days('sub.pem');
    expect(days('staff.pem')).toBeLessThanOrEqual(365);
    expect(days('staff.pem')).toBe(Math.min(365, caDays));
    await lintClean('staff.pem');
    const detail = (await ra('GET', `/v1/certificates/${issuerId}/${serial}/detail`, 'reviewer')).json();
    expect(detail).toMatchObject({ template: 'tax-bureau-staff', templateVersion: 2 });

    // The template's renewal rule: a new key only, the holder checked at the desk.
    const renewal = await ra('POST', '/v1/renewals', 'clerk', {
      issuerId,
      serial,
      csr: opensslHolderCsr(dir, 'staff-renewed', '/C=CN/CN=holder'),
      holder: staffHolder('Li Na'),
    });
    expect(renewal.status, renewal.text).toBe(201);
    expect(renewal.json()).toMatchObject({ template: 'tax-bureau-staff', templateVersion: 2 });
    await reviewAndIssue(renewal.json().id, 'staff-renewed');
    await lintClean('staff-renewed.pem');
  }, 180_000);

  it('issues a dual pair whose encryption certificate comes from the twin template', async () => {
    const entered = await applyStaff('Zhou Jie', { dual: true });
    expect(entered.status, entered.text).toBe(201);
    expect(entered.json().encryption).toMatchObject({
      profile: 'person-encrypt',
      template: 'tax-bureau-staff-encrypt',
      templateVersion: 1,
    });
    const { issuerId, encryption } = await reviewAndIssue(entered.json().id, 'dual');
    const detail = (
      await ra('GET', `/v1/certificates/${issuerId}/${encryption.serial}/detail`, 'reviewer')
    ).json();
    expect(detail).toMatchObject({
      certificate: { profile: 'person-encrypt' },
      template: 'tax-bureau-staff-encrypt',
      templateVersion: 1,
    });
    const text = openssl(
      ['x509', '-in', 'dual-encrypt.pem', '-noout', '-text', '-nameopt', 'utf8'],
      dir,
    ).toString();
    expect(text).toContain('O=国家税务总局北京市税务局');
    expect(/X509v3 Key Usage: critical\n\s+(.+)\n/.exec(text)?.[1]).toBe(
      'Key Encipherment, Data Encipherment, Key Agreement',
    );
    expect(days('dual-encrypt.pem')).toBe(days('dual.pem'));
    await lintClean('dual.pem');
    await lintClean('dual-encrypt.pem');
  }, 180_000);

  it('enters and issues a batch row under the new name', async () => {
    const rows = [
      {
        holderType: 'person',
        profile: 'person-sign',
        template: 'tax-bureau-staff',
        holder: staffHolder('Qian Yu'),
        csr: opensslHolderCsr(dir, 'batch-qian', '/C=CN/CN=holder'),
        publishConsent: false,
      },
    ];
    const entered = await ra('POST', '/v1/batches', 'clerk', { rows });
    expect(entered.status, entered.text).toBe(201);
    const { batch, invalid } = entered.json();
    expect(invalid).toEqual([]);
    const reviewed = await ra('POST', `/v1/batches/${batch.id}/review`, 'reviewer', { decision: 'approve' });
    expect(reviewed.status, reviewed.text).toBe(200);
    const issued = await ra('POST', `/v1/batches/${batch.id}/issue`, 'maker');
    expect(issued.status, issued.text).toBe(200);
    expect(issued.json().failed).toEqual([]);
    const [row] = issued.json().issued as { applicationId: string; serial: string }[];
    const application = (await ra('GET', `/v1/applications/${row!.applicationId}`, 'reviewer')).json();
    expect(application).toMatchObject({ template: 'tax-bureau-staff', templateVersion: 2 });
    const detail = await ra(
      'GET',
      `/v1/certificates/${application.issuerId}/${row!.serial}/detail`,
      'reviewer',
    );
    expect(detail.json()).toMatchObject({ template: 'tax-bureau-staff', templateVersion: 2 });
    const der = Buffer.from(detail.json().der, 'base64');
    expect(
      openssl(['x509', '-inform', 'DER', '-noout', '-subject', '-nameopt', 'utf8'], dir, der).toString(),
    ).toContain('O=国家税务总局北京市税务局');
  }, 180_000);

  it('keeps template administration to business administrators', async () => {
    const asClerk = await ra('POST', '/v1/admin/templates/person-sign/versions/3/retire', 'clerk');
    expect(asClerk.status).toBe(403);
  });
});
