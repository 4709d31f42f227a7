import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildCsr,
  buildOcspCertId,
  buildOcspRequest,
  decodeCsrResponse,
  derToPem,
  ocspGetPath,
  parseCertificate,
  parseOcspResponse,
  publicKeyOfSpki,
} from '@sm2ca/pki';
import smCrypto from 'sm-crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEnvelopedKey } from '../support/open-enveloped-key.ts';
import { openssl } from '../support/openssl-cli.ts';
import { type RaOperators, raOperators } from '../support/ra-client.ts';
import { SmCryptoSigner } from '../support/sm-crypto-signer.ts';
import { type Stack, startStack } from '../support/sm2ca-stack.ts';
import { createTestDatabase } from '../support/test-database.ts';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

/**
 * Dual enrollment with every service as its own process: the holder brings a signature key
 * pair made by their own tool (sm-crypto), one application yields the signature certificate
 * and an encryption certificate for a key the KM generated and escrowed, and the holder opens
 * the enveloped encryption key with their signature private key. Checked with OpenSSL,
 * `sm2ca lint` and sm-crypto; then the pair is revoked in one reviewed request.
 */
describe('dual enrollment end to end', () => {
  let stack: Stack;
  let drop: () => Promise<void>;
  let ra: RaOperators['ra'];
  const dir = mkdtempSync(join(tmpdir(), 'e2e-dual-'));
  const holderKey = smCrypto.sm2.generateKeyPairHex();
  const holder = { commonName: '赵六', identity: { residentId: '11010519491231002X' } };
  let pair: { issuerId: string; serial: string; encryptionSerial: string; issuerDer: Buffer };

  beforeAll(async () => {
    const db = await createTestDatabase();
    drop = db.drop;
    stack = await startStack(db.url);
    ({ ra } = await raOperators(stack));
  }, 180_000);
  afterAll(async () => {
    await stack?.stop();
    await drop?.();
    rmSync(dir, { recursive: true, force: true });
  });

  const holderCsr = async () =>
    Buffer.from(
      await buildCsr(
        { subject: [{ type: 'CN', value: 'Zhao Liu' }], publicKey: Buffer.from(holderKey.publicKey, 'hex') },
        new SmCryptoSigner(holderKey.privateKey, holderKey.publicKey),
      ),
    ).toString('base64');

  it('refuses an encryption certificate for a key the holder brought', async () => {
    const refused = await ra('POST', '/v1/applications', 'clerk', {
      holderType: 'person',
      profile: 'person-encrypt',
      holder,
      csr: await holderCsr(),
      publishConsent: false,
    });
    expect(refused.status, refused.text).toBe(422);
    expect(refused.json().error.code).toBe('ENCRYPTION_KEY_NOT_FROM_KM');
    expect(refused.json().error.message).toContain('dual');
  });

  it('issues both certificates from one application and hands the holder a key only they can open', async () => {
    const entered = await ra('POST', '/v1/applications', 'clerk', {
      holderType: 'person',
      profile: 'person-sign',
      holder,
      csr: await holderCsr(),
      publishConsent: false,
      dual: true,
    });
    expect(entered.status, entered.text).toBe(201);
    const id = entered.json().id;
    const reviewed = await ra('POST', `/v1/applications/${id}/review`, 'reviewer', { decision: 'approve' });
    expect(reviewed.status, reviewed.text).toBe(200);
    const issued = await ra('POST', `/v1/applications/${id}/issue`, 'maker');
    expect(issued.status, issued.text).toBe(201);
    const { issuerId, serial, encryption, download } = issued.json();
    expect(encryption.serial).toMatch(/^[0-9a-f]+$/);

    const view = (await ra('GET', `/v1/applications/${id}`, 'reviewer')).json();
    expect(view).toMatchObject({
      status: 'issued',
      dual: true,
      serial,
      encryption: { profile: 'person-encrypt', issuerId, serial: encryption.serial },
    });

    const res = await ra('POST', '/v1/download', undefined, { ...download, format: 'der' });
    expect(res.status, res.text).toBe(200);
    const body = res.json();
    const signatureDer = Buffer.from(body.certificate, 'base64');
    const encryptionDer = Buffer.from(body.encryption.certificate, 'base64');
    const envelope = Buffer.from(body.encryption.envelopedKey, 'base64');
    const [subDer, rootDer] = body.chain.map((c: string) => Buffer.from(c, 'base64')) as [Buffer, Buffer];
    pair = { issuerId, serial, encryptionSerial: encryption.serial, issuerDer: subDer };

    // The holder's tool opens the envelope with the signature private key alone.
    const opened = openEnvelopedKey(envelope, holderKey.privateKey);
    const encryptionPublicKey = hex(publicKeyOfSpki(parseCertificate(encryptionDer).spki));
    expect(opened.publicKeyHex).toBe(encryptionPublicKey);
    expect(encryptionPublicKey).not.toBe(holderKey.publicKey);
    expect(hex(publicKeyOfSpki(parseCertificate(signatureDer).spki))).toBe(holderKey.publicKey);
    // The recovered key works: what is encrypted to the certificate decrypts with it.
    const secret = 'for the holder only';
    const ciphertext = smCrypto.sm2.doEncrypt(secret, encryptionPublicKey, 1);
    expect(smCrypto.sm2.doDecrypt(ciphertext, opened.privateKeyHex, 1)).toBe(secret);

    const csrResponse = decodeCsrResponse(Buffer.from(body.csrResponse, 'base64'));
    expect(Buffer.from(csrResponse.signCertificate)).toEqual(signatureDer);
    expect(Buffer.from(csrResponse.envelopedKey!)).toEqual(envelope);
    expect(Buffer.from(csrResponse.encryptCertificate!)).toEqual(encryptionDer);

    for (const [name, der] of [
      ['sign.pem', signatureDer],
      ['encrypt.pem', encryptionDer],
      ['sub.pem', subDer],
      ['root.pem', rootDer],
    ] as const) {
      writeFileSync(join(dir, name), derToPem(der, 'CERTIFICATE'));
    }
    const signText = openssl(['x509', '-in', 'sign.pem', '-noout', '-text'], dir).toString();
    expect(signText).toContain('Digital Signature, Non Repudiation');
    const encryptText = openssl(['x509', '-in', 'encrypt.pem', '-noout', '-text'], dir).toString();
    const keyUsage = /X509v3 Key Usage: critical\n\s+(.+)\n/.exec(encryptText)?.[1];
    expect(keyUsage).toBe('Key Encipherment, Data Encipherment, Key Agreement');
    expect(encryptText).not.toContain('Digital Signature');
    for (const file of ['sign.pem', 'encrypt.pem']) {
      const lint = await stack.cli(['lint', join(dir, file), '--issuer', join(dir, 'sub.pem')]);
      expect(lint.code, `${file}: ${lint.stdout}${lint.stderr}`).toBe(0);
    }

    // One code, one download; a new code hands over the same pair again, here as the DER CSRResponse.
    expect((await ra('POST', '/v1/download', undefined, { ...download, format: 'der' })).status).toBe(410);
    const fresh = (await ra('POST', `/v1/applications/${id}/download-code`, 'maker')).json();
    const asDer = await fetch(`${stack.url.ra}/v1/download`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ reference: fresh.reference, code: fresh.code, format: 'csr-response' }),
    });
    expect(asDer.status).toBe(200);
    expect(asDer.headers.get('content-type')).toBe('application/vnd.sm2ca.csr-response+der');
    expect(Buffer.from(await asDer.arrayBuffer())).toEqual(Buffer.from(body.csrResponse, 'base64'));
  });

  it('offers the twin of a revoked signature certificate and revokes both in one reviewed request', async () => {
    const offered = await ra('POST', '/v1/revocations', 'clerk', {
      issuerId: pair.issuerId,
      serial: pair.serial,
      reason: 'keyCompromise',
      requestedBy: 'the holder, in person, identity card checked',
    });
    expect(offered.status, offered.text).toBe(201);
    expect(offered.json().twin).toEqual({
      issuerId: pair.issuerId,
      serial: pair.encryptionSerial,
      included: false,
      doneAt: null,
    });
    const rejected = await ra('POST', `/v1/revocations/${offered.json().id}/review`, 'reviewer', {
      decision: 'reject',
      reason: 'the holder wants both revoked',
    });
    expect(rejected.status, rejected.text).toBe(200);

    const both = await ra('POST', '/v1/revocations', 'clerk', {
      issuerId: pair.issuerId,
      serial: pair.serial,
      reason: 'keyCompromise',
      requestedBy: 'the holder, in person, identity card checked',
      includeTwin: true,
    });
    expect(both.status, both.text).toBe(201);
    const approved = await ra('POST', `/v1/revocations/${both.json().id}/review`, 'reviewer', {
      decision: 'approve',
    });
    expect(approved.status, approved.text).toBe(200);
    expect(approved.json()).toMatchObject({
      status: 'done',
      twin: { serial: pair.encryptionSerial, included: true, doneAt: expect.any(String) },
    });
    for (const serial of [pair.serial, pair.encryptionSerial]) {
      const listed = (await ra('GET', `/v1/certificates?serial=${serial}`, 'reviewer')).json();
      expect(listed.items[0].status).toBe('revoked');
    }

    const issuer = parseCertificate(pair.issuerDer);
    const ocspStatus = async (serial: string) => {
      const certId = buildOcspCertId(
        { subjectDer: issuer.subject, publicKey: publicKeyOfSpki(issuer.spki) },
        BigInt(`0x${serial}`),
      );
      const request = buildOcspRequest([certId.der]);
      const res = await fetch(`${stack.url.ocsp}/ocsp/${ocspGetPath(request)}`);
      const answer = parseOcspResponse(Buffer.from(await res.arrayBuffer()));
      return answer.status === 'successful' ? answer.basic.responses[0]!.certStatus.status : answer.status;
    };
    for (const serial of [pair.serial, pair.encryptionSerial]) {
      await expect.poll(() => ocspStatus(serial), { timeout: 10_000, interval: 100 }).toBe('revoked');
    }
  });
});
