import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { type Device, openDevice } from '@sm2ca/device';
import pkcs11 from 'pkcs11js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hsmSim, tokenConfig } from '../../../packages/device/src/test-tokens.ts';
import { adoptionRefusal } from './key-adoption.ts';

/** Raw PKCS#11 on the same token, to do what the device API never does: relabel and downgrade keys. */
function rawSession(tokenLabel: string) {
  const lib = new pkcs11.PKCS11();
  lib.load(hsmSim.module);
  try {
    lib.C_Initialize({ flags: pkcs11.CKF_OS_LOCKING_OK });
  } catch {
    // initialised already by the device under test; the library is per process
  }
  const slot = lib.C_GetSlotList(true).find((s) => lib.C_GetTokenInfo(s).label.trim() === tokenLabel)!;
  const session = lib.C_OpenSession(slot, pkcs11.CKF_SERIAL_SESSION | pkcs11.CKF_RW_SESSION);
  const find = (cls: number, label: string) => {
    lib.C_FindObjectsInit(session, [
      { type: pkcs11.CKA_CLASS, value: cls },
      { type: pkcs11.CKA_LABEL, value: label },
    ]);
    const [handle] = lib.C_FindObjects(session, 1);
    lib.C_FindObjectsFinal(session);
    return handle!;
  };
  const set = (cls: number, label: string, attribute: pkcs11.Attribute) =>
    lib.C_SetAttributeValue(session, find(cls, label), [attribute]);
  return { set, close: () => lib.C_CloseSession(session) };
}

describe.skipIf(!hsmSim.available)('adopting a key found under a service label', () => {
  const pin = randomBytes(8).toString('hex');
  let tokenDir: string;
  let planter: Device;
  let ceremony: Device;
  const refusal = async (label: string) =>
    adoptionRefusal(ceremony, label, await ceremony.inspectKeyPair(label));

  beforeAll(async () => {
    ({ HSMSIM_DIR: tokenDir } = (await hsmSim.createTokens(['adoption'], `${pin}so`, pin)) as {
      HSMSIM_DIR: string;
    });
    planter = await openDevice(tokenConfig(hsmSim, 'adoption', pin));
    await planter.generateKeyPair({ label: 'sound' });
    await planter.generateKeyPair({ label: 'decrypts', decrypt: true });
    await planter.generateKeyPair({ label: 'extractable', extractable: true });
    await planter.generateKeyPair({ label: 'once-extractable', extractable: true });
    await planter.generateKeyPair({ label: 'backup-only', backup: true });
    await planter.generateKeyPair({ label: 'swapped' });
    await planter.generateKeyPair({ label: 'decoy' });
    await planter.generateKeyPair({ label: 'source', extractable: true });
    await planter.generateSecretKey({ label: 'kek' });
    const wrapped = await planter.wrapPrivateKey('kek', 'source');
    await planter.unwrapPrivateKey('kek', wrapped, { label: 'imported' });
    await planter.generateKeyPair({ label: 'twice' });
    await planter.unwrapPrivateKey('kek', wrapped, { label: 'twice' });
    await planter.unwrapPrivateKey('kek', wrapped, { label: 'unwrapped-alone' });
    const raw = rawSession('adoption');
    try {
      raw.set(pkcs11.CKO_PRIVATE_KEY, 'once-extractable', { type: pkcs11.CKA_EXTRACTABLE, value: false });
      raw.set(pkcs11.CKO_PUBLIC_KEY, 'source', { type: pkcs11.CKA_LABEL, value: 'imported' });
      raw.set(pkcs11.CKO_PUBLIC_KEY, 'swapped', { type: pkcs11.CKA_LABEL, value: 'swapped-original' });
      raw.set(pkcs11.CKO_PUBLIC_KEY, 'decoy', { type: pkcs11.CKA_LABEL, value: 'swapped' });
    } finally {
      raw.close();
    }
    // a fresh device, as the ceremony's own process would be: nothing cached from the planting
    ceremony = await openDevice(tokenConfig(hsmSim, 'adoption', pin));
  });
  afterAll(async () => {
    await ceremony?.close();
    await planter?.close();
    rmSync(tokenDir, { recursive: true, force: true });
  });

  it('adopts a key the ceremony itself would have generated', async () => {
    expect(await refusal('sound')).toEqual([]);
  });

  it('refuses a key that may decrypt and unwrap', async () => {
    expect(await refusal('decrypts')).toEqual(['CKA_DECRYPT', 'CKA_UNWRAP']);
  });

  it('refuses a key that is, or ever was, extractable', async () => {
    expect(await refusal('extractable')).toEqual(['CKA_EXTRACTABLE, now or once']);
    expect(await refusal('once-extractable')).toEqual(['CKA_EXTRACTABLE, now or once']);
  });

  it('adopts a CA key that leaves the device only under a trusted key, and no other key like it', async () => {
    const found = await ceremony.inspectKeyPair('backup-only');
    expect(await adoptionRefusal(ceremony, 'backup-only', found, { backup: true })).toEqual([]);
    expect(await adoptionRefusal(ceremony, 'backup-only', found)).toEqual(['CKA_EXTRACTABLE, now or once']);
    const extractable = await ceremony.inspectKeyPair('extractable');
    expect(await adoptionRefusal(ceremony, 'extractable', extractable, { backup: true })).toEqual([
      'CKA_EXTRACTABLE, now or once, without CKA_WRAP_WITH_TRUSTED',
    ]);
  });

  it('refuses a key imported rather than generated in the device', async () => {
    expect(await refusal('imported')).toContain('imported rather than generated in the device');
  });

  it('refuses a private key left without its public key', async () => {
    expect(await refusal('unwrapped-alone')).toContain('0 public keys carry the label');
  });

  it('refuses a label two private keys share', async () => {
    expect(await refusal('twice')).toContain('2 private keys carry the label');
  });

  it('refuses a private key whose public key under the same label is another key', async () => {
    expect(await refusal('swapped')).toEqual(['its private key does not match its public key']);
  });
});
