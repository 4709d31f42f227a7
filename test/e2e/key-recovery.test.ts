import { buildCsr, parseCertificate, publicKeyOfSpki } from '@sm2ca/pki';
import smCrypto from 'sm-crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEnvelopedKey } from '../support/open-enveloped-key.ts';
import { SmCryptoSigner } from '../support/sm-crypto-signer.ts';
import { type Stack, startStack } from '../support/sm2ca-stack.ts';
import { addStackOperator } from '../support/stack-operators.ts';
import { createTestDatabase } from '../support/test-database.ts';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

const staff = [
  ['clerk', 'entry-clerk'],
  ['reviewer', 'reviewer'],
  ['maker', 'certificate-maker'],
  ['keyAdmin1', 'key-administrator'],
  ['keyAdmin2', 'key-administrator'],
  ['officer', 'judicial-officer'],
] as const;
type Staff = (typeof staff)[number][0];

/**
 * Key recovery with every service as its own process: a holder's dual enrollment escrows the
 * encryption key at KM; after an identity check and a review the holder gets it back enveloped
 * to their signature key and opens it with sm-crypto; after a court's authorisation and two key
 * administrators' approvals a judicial officer gets the same key enveloped to their own key.
 */
describe('key recovery and judicial recovery end to end', () => {
  let stack: Stack;
  let drop: () => Promise<void>;
  const token = {} as Record<Staff, string>;
  const holderKey = smCrypto.sm2.generateKeyPairHex();
  const officerKey = smCrypto.sm2.generateKeyPairHex();
  const holderId = '11010519491231002X';
  const officerId = '110105198001010016';
  let encryption: { issuerId: string; serial: string; publicKeyHex: string };

  const ra = async (method: string, path: string, as: Staff | undefined, body?: unknown) => {
    const res = await fetch(`${stack.url.ra}${path}`, {
      method,
      headers: {
        ...(body ? { 'content-type': 'application/json' } : {}),
        ...(as ? { authorization: `Bearer ${token[as]}` } : {}),
      },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, text, json: () => JSON.parse(text) };
  };

  /** An issued application for a key made by the holder's own tool (sm-crypto). */
  const enroll = async (
    key: { publicKey: string; privateKey: string },
    residentId: string,
    dual: boolean,
  ) => {
    const csr = await buildCsr(
      { subject: [{ type: 'CN', value: 'holder' }], publicKey: Buffer.from(key.publicKey, 'hex') },
      new SmCryptoSigner(key.privateKey, key.publicKey),
    );
    const entered = await ra('POST', '/v1/applications', 'clerk', {
      holderType: 'person',
      profile: 'person-sign',
      holder: { commonName: '钱七', identity: { residentId } },
      csr: Buffer.from(csr).toString('base64'),
      publishConsent: false,
      ...(dual ? { dual: true } : {}),
    });
    expect(entered.status, entered.text).toBe(201);
    const { id } = entered.json();
    expect(
      (await ra('POST', `/v1/applications/${id}/review`, 'reviewer', { decision: 'approve' })).status,
    ).toBe(200);
    const issued = await ra('POST', `/v1/applications/${id}/issue`, 'maker');
    expect(issued.status, issued.text).toBe(201);
    return issued.json();
  };

  beforeAll(async () => {
    const db = await createTestDatabase();
    drop = db.drop;
    stack = await startStack(db.url);
    for (const [name, role] of staff) token[name] = await addStackOperator(stack, name, [role]);
    const issued = await enroll(holderKey, holderId, true);
    // The holder's own download of the pair: the encryption certificate as enrollment handed it out.
    const { reference, code } = issued.download;
    const pair = await ra('POST', '/v1/download', undefined, { reference, code, format: 'der' });
    expect(pair.status, pair.text).toBe(200);
    const der = Buffer.from(pair.json().encryption.certificate, 'base64');
    encryption = {
      issuerId: issued.issuerId,
      serial: issued.encryption.serial,
      publicKeyHex: hex(publicKeyOfSpki(parseCertificate(der).spki)),
    };
  }, 180_000);
  afterAll(async () => {
    await stack?.stop();
    await drop?.();
  });

  /** The escrowed private key opened from an envelope, checked to decrypt what was encrypted to the certificate. */
  const openAndUse = (envelopedKey: string, privateKeyHex: string) => {
    const opened = openEnvelopedKey(Buffer.from(envelopedKey, 'base64'), privateKeyHex);
    expect(opened.publicKeyHex).toBe(encryption.publicKeyHex);
    const ciphertext = smCrypto.sm2.doEncrypt('sealed for the holder', encryption.publicKeyHex, 1);
    expect(smCrypto.sm2.doDecrypt(ciphertext, opened.privateKeyHex, 1)).toBe('sealed for the holder');
  };

  it('recovers the holder’s encryption key, enveloped to their signature key, once', async () => {
    const recorded = await ra('POST', '/v1/key-recoveries', 'clerk', {
      issuerId: encryption.issuerId,
      serial: encryption.serial,
      identityCheck: {
        requester: 'holder',
        document: { documentType: 'resident_id_card', documentNumber: holderId },
        method: 'original card read by the ID card reader',
      },
    });
    expect(recorded.status, recorded.text).toBe(201);
    const { id } = recorded.json();
    const approved = await ra('POST', `/v1/key-recoveries/${id}/review`, 'reviewer', { decision: 'approve' });
    expect(approved.status, approved.text).toBe(200);
    const { download } = approved.json();
    expect(approved.json().status).toBe('released');

    const fetched = await ra('POST', '/v1/key-recoveries/download', undefined, {
      reference: download.reference,
      code: download.code,
    });
    expect(fetched.status, fetched.text).toBe(200);
    expect(fetched.json()).toMatchObject({ issuerId: encryption.issuerId, serial: encryption.serial });
    openAndUse(fetched.json().envelopedKey, holderKey.privateKey);
    // The envelope is the holder's alone: the officer's key does not open it.
    expect(() =>
      openEnvelopedKey(Buffer.from(fetched.json().envelopedKey, 'base64'), officerKey.privateKey),
    ).toThrow();

    const again = await ra('POST', '/v1/key-recoveries/download', undefined, {
      reference: download.reference,
      code: download.code,
    });
    expect(again.status).toBe(410);
  });

  it('recovers it for a judicial officer after two key administrators approve', async () => {
    const officer = await enroll(officerKey, officerId, false);
    const recorded = await ra('POST', '/v1/judicial-recoveries', 'officer', {
      issuerId: encryption.issuerId,
      serial: encryption.serial,
      authorisation: {
        documentReference: '(2026)京0105刑初1234号',
        court: '北京市朝阳区人民法院',
        officerName: '赵明',
        officerDocument: { documentType: 'resident_id_card', documentNumber: officerId },
      },
      officerCertificate: { issuerId: officer.issuerId, serial: officer.serial },
    });
    expect(recorded.status, recorded.text).toBe(201);
    const { id } = recorded.json();
    const early = await ra('POST', `/v1/judicial-recoveries/${id}/release`, 'keyAdmin1');
    expect(early.json().error.code).toBe('APPROVALS_MISSING');
    const first = await ra('POST', `/v1/judicial-recoveries/${id}/decisions`, 'keyAdmin1', {
      decision: 'approve',
    });
    expect(first.json().status).toBe('submitted');
    const twice = await ra('POST', `/v1/judicial-recoveries/${id}/decisions`, 'keyAdmin1', {
      decision: 'approve',
    });
    expect(twice.json().error.code).toBe('APPROVAL_DUPLICATE');
    const second = await ra('POST', `/v1/judicial-recoveries/${id}/decisions`, 'keyAdmin2', {
      decision: 'approve',
    });
    expect(second.status, second.text).toBe(200);
    expect(second.json().status).toBe('released');

    const fetched = await ra('POST', `/v1/judicial-recoveries/${id}/download`, 'officer');
    expect(fetched.status, fetched.text).toBe(200);
    openAndUse(fetched.json().envelopedKey, officerKey.privateKey);
    expect(() =>
      openEnvelopedKey(Buffer.from(fetched.json().envelopedKey, 'base64'), holderKey.privateKey),
    ).toThrow();
  });
});
