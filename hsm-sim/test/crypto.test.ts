// Mechanisms end to end through pkcs11js, with interop against sm-crypto,
// node:crypto and the OpenSSL CLI.
import { createCipheriv, createHash, getCiphers, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import smCrypto from 'sm-crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openssl, opensslVerifiesSm2Signature } from '../../test/support/openssl-cli.ts';
import { smCryptoSign, smCryptoVerifies } from '../../test/support/sm-crypto-signer.ts';
import {
  attr,
  buildModule,
  CKK_SM2,
  CKK_SM4,
  CKM_SM2_ENC,
  CKM_SM2_RAW,
  CKM_SM3,
  CKM_SM4_CBC,
  CKM_SM4_ECB,
  c1c3c2ToDer,
  derToC1C3C2,
  generateSm2,
  generateSm4,
  type Handle,
  importSm2Public,
  initToken,
  openModule,
  type PKCS11,
  pkcs11js,
  rv,
  type Sm2Pair,
  sign,
  slotHandle,
  spkiPem,
  tempTokenDir,
  verify,
} from './p11.ts';

let p: PKCS11;
let s: Handle;
let dir: string;
let work: string;
let key: Sm2Pair;

function scalarOf(k: Handle): string {
  return attr(p, s, k, pkcs11js.CKA_VALUE).toString('hex');
}

beforeAll(() => {
  buildModule();
  dir = tempTokenDir();
  work = mkdtempSync(join(tmpdir(), 'hsmsim-work-'));
  p = openModule(dir);
  s = initToken(p, slotHandle(p));
  key = generateSm2(p, s, { extractable: true, sensitive: false });
});

afterAll(() => {
  p.C_Finalize();
  rmSync(dir, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

describe('SM2 with SM3', () => {
  const msg = Buffer.from('message to be signed, 签名');

  it('signs with the default ID and verifies through the module', () => {
    const sig = sign(p, s, key.priv, msg);
    expect(sig[0]).toBe(0x30);
    expect(verify(p, s, key.pub, msg, sig)).toBe(true);
    expect(verify(p, s, key.pub, msg, sig, Buffer.from('1234567812345678'))).toBe(true);
    expect(rv(() => verify(p, s, key.pub, Buffer.from('other'), sig))).toBe('CKR_SIGNATURE_INVALID');
  });

  it('uses an explicit signer ID', () => {
    const id = Buffer.from('alice@example.cn');
    const sig = sign(p, s, key.priv, msg, id);
    expect(verify(p, s, key.pub, msg, sig, id)).toBe(true);
    expect(rv(() => verify(p, s, key.pub, msg, sig))).toBe('CKR_SIGNATURE_INVALID');
    const pub = `04${key.point.subarray(1).toString('hex')}`;
    expect(smCryptoVerifies(msg, sig, pub, 'alice@example.cn')).toBe(true);
  });

  it('produces signatures sm-crypto verifies (default ID)', () => {
    const sig = sign(p, s, key.priv, msg);
    expect(smCryptoVerifies(msg, sig, key.point.toString('hex'))).toBe(true);
  });

  it('produces signatures OpenSSL verifies with distid 1234567812345678', () => {
    const sig = sign(p, s, key.priv, msg);
    writeFileSync(join(work, 'pub.pem'), spkiPem(key.point));
    writeFileSync(join(work, 'sig.der'), sig);
    writeFileSync(join(work, 'msg'), msg);
    expect(opensslVerifiesSm2Signature(work, 'pub.pem', 'sig.der', 'msg')).toBe(true);
  });

  it('verifies an sm-crypto signature with an imported public key', () => {
    const priv = scalarOf(key.priv);
    const imported = importSm2Public(p, s, key.point);
    expect(verify(p, s, imported, msg, smCryptoSign(msg, priv))).toBe(true);
    // a key sm-crypto generated itself
    const kp = smCrypto.sm2.generateKeyPairHex();
    const other = importSm2Public(p, s, Buffer.from(kp.publicKey, 'hex'));
    expect(verify(p, s, other, msg, smCryptoSign(msg, kp.privateKey))).toBe(true);
  });

  it('supports multi-part sign and verify', () => {
    p.C_SignInit(s, { mechanism: 0x80008100 }, key.priv);
    p.C_SignUpdate(s, msg.subarray(0, 5));
    p.C_SignUpdate(s, msg.subarray(5));
    const sig = p.C_SignFinal(s, Buffer.alloc(80));
    p.C_VerifyInit(s, { mechanism: 0x80008100 }, key.pub);
    p.C_VerifyUpdate(s, msg.subarray(0, 3));
    p.C_VerifyUpdate(s, msg.subarray(3));
    expect(p.C_VerifyFinal(s, sig)).toBe(true);
    expect(verify(p, s, key.pub, msg, sig)).toBe(true);
  });

  it('raw SM2 signs a 32-byte e', () => {
    const e = randomBytes(32);
    p.C_SignInit(s, { mechanism: CKM_SM2_RAW }, key.priv);
    const sig = p.C_Sign(s, e, Buffer.alloc(80));
    p.C_VerifyInit(s, { mechanism: CKM_SM2_RAW }, key.pub);
    expect(p.C_Verify(s, e, sig)).toBe(true);
    p.C_SignInit(s, { mechanism: CKM_SM2_RAW }, key.priv);
    expect(rv(() => p.C_Sign(s, Buffer.alloc(20), Buffer.alloc(80)))).toBe('CKR_DATA_LEN_RANGE');
  });
});

describe('SM2 encryption', () => {
  const plain = Buffer.from('secret payload for SM2 encryption');

  it('round-trips through the module and emits GM/T 0009 DER', () => {
    p.C_EncryptInit(s, { mechanism: CKM_SM2_ENC }, key.pub);
    const ct = p.C_Encrypt(s, plain, Buffer.alloc(256));
    expect(ct[0]).toBe(0x30);
    p.C_DecryptInit(s, { mechanism: CKM_SM2_ENC }, key.priv);
    expect(p.C_Decrypt(s, ct, Buffer.alloc(256)).equals(plain)).toBe(true);
  });

  it('interoperates with sm-crypto in both directions', () => {
    const priv = scalarOf(key.priv);
    p.C_EncryptInit(s, { mechanism: CKM_SM2_ENC }, key.pub);
    const ct = p.C_Encrypt(s, plain, Buffer.alloc(256));
    const dec = smCrypto.sm2.doDecrypt(derToC1C3C2(ct), priv, 1, { output: 'array' });
    expect(Buffer.from(dec).equals(plain)).toBe(true);

    const smCt = smCrypto.sm2.doEncrypt(Array.from(plain), key.point.toString('hex'), 1);
    p.C_DecryptInit(s, { mechanism: CKM_SM2_ENC }, key.priv);
    expect(p.C_Decrypt(s, c1c3c2ToDer(smCt), Buffer.alloc(256)).equals(plain)).toBe(true);
  });

  it('rejects tampered ciphertext', () => {
    p.C_EncryptInit(s, { mechanism: CKM_SM2_ENC }, key.pub);
    const ct = Buffer.from(p.C_Encrypt(s, plain, Buffer.alloc(256)));
    ct[ct.length - 1] = (ct[ct.length - 1] ?? 0) ^ 1;
    p.C_DecryptInit(s, { mechanism: CKM_SM2_ENC }, key.priv);
    expect(rv(() => p.C_Decrypt(s, ct, Buffer.alloc(256)))).toBe('CKR_ENCRYPTED_DATA_INVALID');
  });
});

describe('SM3', () => {
  it('matches node:crypto, single and multi-part', () => {
    const data = randomBytes(1000);
    const want = createHash('sm3').update(data).digest();
    p.C_DigestInit(s, { mechanism: CKM_SM3 });
    expect(p.C_Digest(s, data, Buffer.alloc(32)).equals(want)).toBe(true);
    p.C_DigestInit(s, { mechanism: CKM_SM3 });
    p.C_DigestUpdate(s, data.subarray(0, 333));
    p.C_DigestUpdate(s, data.subarray(333));
    expect(p.C_DigestFinal(s, Buffer.alloc(32)).equals(want)).toBe(true);
  });
});

describe('SM4', () => {
  const keyBytes = randomBytes(16);
  let k: Handle;

  function nodeSm4(mode: 'ecb' | 'cbc', data: Buffer, iv?: Buffer): Buffer {
    if (getCiphers().includes(`sm4-${mode}`)) {
      const c = createCipheriv(`sm4-${mode}`, keyBytes, mode === 'cbc' ? (iv ?? null) : null);
      c.setAutoPadding(false);
      return Buffer.concat([c.update(data), c.final()]);
    }
    const args = ['enc', `-sm4-${mode}`, '-nopad', '-K', keyBytes.toString('hex')];
    if (iv) args.push('-iv', iv.toString('hex'));
    return openssl(args, undefined, data);
  }

  beforeAll(() => {
    k = p.C_CreateObject(s, [
      { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
      { type: pkcs11js.CKA_KEY_TYPE, value: CKK_SM4 },
      { type: pkcs11js.CKA_TOKEN, value: false },
      { type: pkcs11js.CKA_VALUE, value: keyBytes },
    ]);
  });

  it('ECB matches the reference and decrypts back', () => {
    const data = randomBytes(64);
    p.C_EncryptInit(s, { mechanism: CKM_SM4_ECB }, k);
    const ct = p.C_Encrypt(s, data, Buffer.alloc(64));
    expect(ct.equals(nodeSm4('ecb', data))).toBe(true);
    p.C_DecryptInit(s, { mechanism: CKM_SM4_ECB }, k);
    expect(p.C_Decrypt(s, ct, Buffer.alloc(64)).equals(data)).toBe(true);
  });

  it('CBC matches the reference, single and multi-part', () => {
    const data = randomBytes(48);
    const iv = randomBytes(16);
    p.C_EncryptInit(s, { mechanism: CKM_SM4_CBC, parameter: iv }, k);
    const ct = p.C_Encrypt(s, data, Buffer.alloc(48));
    expect(ct.equals(nodeSm4('cbc', data, iv))).toBe(true);
    p.C_EncryptInit(s, { mechanism: CKM_SM4_CBC, parameter: iv }, k);
    const a = p.C_EncryptUpdate(s, data.subarray(0, 20), Buffer.alloc(48));
    const b = p.C_EncryptUpdate(s, data.subarray(20), Buffer.alloc(48));
    const c = p.C_EncryptFinal(s, Buffer.alloc(16));
    expect(Buffer.concat([a, b, c]).equals(ct)).toBe(true);
    p.C_DecryptInit(s, { mechanism: CKM_SM4_CBC, parameter: iv }, k);
    expect(p.C_Decrypt(s, ct, Buffer.alloc(48)).equals(data)).toBe(true);
  });

  it('rejects partial blocks and bad IVs', () => {
    p.C_EncryptInit(s, { mechanism: CKM_SM4_ECB }, k);
    expect(rv(() => p.C_Encrypt(s, Buffer.alloc(17), Buffer.alloc(32)))).toBe('CKR_DATA_LEN_RANGE');
    expect(rv(() => p.C_EncryptInit(s, { mechanism: CKM_SM4_CBC, parameter: Buffer.alloc(8) }, k))).toBe(
      'CKR_MECHANISM_PARAM_INVALID',
    );
  });

  it('generates 16-byte keys', () => {
    const g = generateSm4(p, s, { extractable: true, sensitive: false });
    expect(attr(p, s, g, pkcs11js.CKA_VALUE)).toHaveLength(16);
    expect(attr(p, s, g, pkcs11js.CKA_KEY_TYPE).readUInt32LE(0)).toBe(CKK_SM4);
  });
});

describe('key wrapping', () => {
  it('wraps an SM2 private key under SM4-ECB and signs with the unwrapped key', () => {
    const kek = generateSm4(p, s);
    const wrapped = p.C_WrapKey(s, { mechanism: CKM_SM4_ECB }, kek, key.priv, Buffer.alloc(64));
    expect(wrapped.length).toBe(32);
    const unwrapped = p.C_UnwrapKey(s, { mechanism: CKM_SM4_ECB }, kek, wrapped, [
      { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY },
      { type: pkcs11js.CKA_KEY_TYPE, value: CKK_SM2 },
      { type: pkcs11js.CKA_TOKEN, value: false },
      { type: pkcs11js.CKA_LABEL, value: 'unwrapped' },
    ]);
    expect(attr(p, s, unwrapped, pkcs11js.CKA_EC_POINT).subarray(2).equals(key.point)).toBe(true);
    const msg = Buffer.from('signed by the unwrapped key');
    expect(verify(p, s, key.pub, msg, sign(p, s, unwrapped, msg))).toBe(true);
    const [loc, sens] = p.C_GetAttributeValue(s, unwrapped, [
      { type: pkcs11js.CKA_LOCAL },
      { type: pkcs11js.CKA_SENSITIVE },
    ]);
    expect(loc?.value).toEqual(Buffer.from([0]));
    expect(sens?.value).toEqual(Buffer.from([1]));
  });

  it('wraps an SM4 key under an SM2 public key and unwraps with the private key', () => {
    const secret = generateSm4(p, s, { extractable: true, sensitive: false });
    const wrapped = p.C_WrapKey(s, { mechanism: CKM_SM2_ENC }, key.pub, secret, Buffer.alloc(256));
    expect(wrapped[0]).toBe(0x30);
    const back = p.C_UnwrapKey(s, { mechanism: CKM_SM2_ENC }, key.priv, wrapped, [
      { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
      { type: pkcs11js.CKA_KEY_TYPE, value: CKK_SM4 },
      { type: pkcs11js.CKA_TOKEN, value: false },
      { type: pkcs11js.CKA_EXTRACTABLE, value: true },
      { type: pkcs11js.CKA_SENSITIVE, value: false },
    ]);
    const a = attr(p, s, secret, pkcs11js.CKA_VALUE);
    expect(attr(p, s, back, pkcs11js.CKA_VALUE).equals(a)).toBe(true);
    // the envelope is plain GM/T 0009: sm-crypto opens it with the private scalar
    const opened = smCrypto.sm2.doDecrypt(derToC1C3C2(wrapped), scalarOf(key.priv), 1, { output: 'array' });
    expect(Buffer.from(opened).equals(a)).toBe(true);
  });
});
