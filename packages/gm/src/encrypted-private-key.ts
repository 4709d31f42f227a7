import { AsnProp, AsnPropTypes, OctetString } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier } from '@peculiar/asn1-x509';
import smCrypto from 'sm-crypto';
import { parseDer } from './der.ts';
import { GmError } from './gm-error.ts';
import { GM_OIDS } from './oids.ts';
import { decodeSm2PrivateKey } from './sm2-private-key.ts';

/** PKCS#8 EncryptedPrivateKeyInfo (RFC 5208): what `openssl pkcs8 -topk8 -v2 …` writes. */
class EncryptedPrivateKeyInfoAsn {
  encryptionAlgorithm = new AlgorithmIdentifier();
  encryptedData = new OctetString();
}
AsnProp({ type: AlgorithmIdentifier })(EncryptedPrivateKeyInfoAsn.prototype, 'encryptionAlgorithm');
AsnProp({ type: OctetString })(EncryptedPrivateKeyInfoAsn.prototype, 'encryptedData');

/** PBES2-params (RFC 8018 A.4). */
class Pbes2ParamsAsn {
  keyDerivationFunc = new AlgorithmIdentifier();
  encryptionScheme = new AlgorithmIdentifier();
}
AsnProp({ type: AlgorithmIdentifier })(Pbes2ParamsAsn.prototype, 'keyDerivationFunc');
AsnProp({ type: AlgorithmIdentifier })(Pbes2ParamsAsn.prototype, 'encryptionScheme');

/** PBKDF2-params (RFC 8018 A.2), the salt in its only specified form; no PRF means HMAC-SHA1. */
class Pbkdf2ParamsAsn {
  salt = new OctetString();
  iterationCount = 0;
  keyLength?: number;
  prf?: AlgorithmIdentifier;
}
AsnProp({ type: OctetString })(Pbkdf2ParamsAsn.prototype, 'salt');
AsnProp({ type: AsnPropTypes.Integer })(Pbkdf2ParamsAsn.prototype, 'iterationCount');
AsnProp({ type: AsnPropTypes.Integer, optional: true })(Pbkdf2ParamsAsn.prototype, 'keyLength');
AsnProp({ type: AlgorithmIdentifier, optional: true })(Pbkdf2ParamsAsn.prototype, 'prf');

const OIDS = {
  pbes2: '1.2.840.113549.1.5.13',
  pbkdf2: '1.2.840.113549.1.5.12',
  hmacWithSha256: '1.2.840.113549.2.9',
  // OpenSSL's hmacWithSM3 (GM/T 0091 A.2); GM/T 0006's HMAC-SM3 OID is taken too.
  hmacWithSm3: '1.2.156.10197.1.401.3.1',
} as const;

/** OpenSSL refuses more on its own files; this bounds the work a crafted file can ask of a browser. */
const MAX_ITERATIONS = 10_000_000;

const toHex = (bytes: ArrayLike<number>) =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
const fromHex = (hex: string) => Uint8Array.from(hex.match(/../g) ?? [], (h) => Number.parseInt(h, 16));

function unsupported(detail: string): GmError {
  return new GmError('PRIVATE_KEY_ENCRYPTION_UNSUPPORTED', `encrypted private key: ${detail}`);
}

/** PBKDF2 (RFC 8018 5.2) over HMAC-SM3: no kept library offers it, WebCrypto knows no SM3. */
function pbkdf2HmacSm3(password: Uint8Array, salt: Uint8Array, iterations: number, length: number) {
  const key = Array.from(password);
  const out = new Uint8Array(length);
  for (let block = 1, at = 0; at < length; block++, at += 32) {
    let u = fromHex(
      smCrypto.sm3([...salt, block >>> 24, (block >>> 16) & 0xff, (block >>> 8) & 0xff, block & 0xff], {
        key,
      }),
    );
    const t = u.slice();
    for (let i = 1; i < iterations; i++) {
      u = fromHex(smCrypto.sm3(u, { key }));
      for (let j = 0; j < 32; j++) t[j] = (t[j] ?? 0) ^ (u[j] ?? 0);
    }
    out.set(t.subarray(0, Math.min(32, length - at)), at);
  }
  return out;
}

async function pbkdf2HmacSha256(password: Uint8Array, salt: Uint8Array, iterations: number, length: number) {
  const { subtle } = globalThis.crypto;
  const base = await subtle.importKey('raw', new Uint8Array(password), 'PBKDF2', false, ['deriveBits']);
  const bits = await subtle.deriveBits(
    { name: 'PBKDF2', hash: 'SHA-256', salt: new Uint8Array(salt), iterations },
    base,
    length * 8,
  );
  return new Uint8Array(bits);
}

/** Whether DER holds an EncryptedPrivateKeyInfo rather than a plain PKCS#8 or SEC1 key. */
export function isEncryptedPrivateKey(der: Uint8Array): boolean {
  try {
    parseDer(der, EncryptedPrivateKeyInfoAsn);
    return true;
  } catch {
    return false;
  }
}

/**
 * The 32-byte SM2 scalar in a passphrase-encrypted PKCS#8 key: PBES2 with PBKDF2 (HMAC-SM3, or
 * HMAC-SHA256, OpenSSL's default PRF) and SM4-CBC. Pure JavaScript apart from WebCrypto's PBKDF2
 * for SHA-256, so the console decrypts in the browser and the key never leaves it. A wrong
 * passphrase is PRIVATE_KEY_PASSPHRASE_WRONG; it shows as bad padding or, rarely, as garbage.
 */
export async function decryptSm2PrivateKey(der: Uint8Array, passphrase: string): Promise<Uint8Array> {
  let info: EncryptedPrivateKeyInfoAsn;
  let pbes2: Pbes2ParamsAsn;
  let kdf: Pbkdf2ParamsAsn;
  let iv: Uint8Array;
  try {
    info = parseDer(der, EncryptedPrivateKeyInfoAsn);
    if (info.encryptionAlgorithm.algorithm !== OIDS.pbes2) {
      throw unsupported(`scheme ${info.encryptionAlgorithm.algorithm}, not PBES2`);
    }
    pbes2 = parseDer(
      new Uint8Array(info.encryptionAlgorithm.parameters ?? new ArrayBuffer(0)),
      Pbes2ParamsAsn,
    );
    if (pbes2.keyDerivationFunc.algorithm !== OIDS.pbkdf2) {
      throw unsupported(`key derivation ${pbes2.keyDerivationFunc.algorithm}, not PBKDF2`);
    }
    if (pbes2.encryptionScheme.algorithm !== GM_OIDS.sm4Cbc) {
      throw unsupported(`cipher ${pbes2.encryptionScheme.algorithm}, not SM4-CBC`);
    }
    kdf = parseDer(new Uint8Array(pbes2.keyDerivationFunc.parameters ?? new ArrayBuffer(0)), Pbkdf2ParamsAsn);
    iv = new Uint8Array(
      parseDer(new Uint8Array(pbes2.encryptionScheme.parameters ?? new ArrayBuffer(0)), OctetString).buffer,
    );
  } catch (err) {
    if (err instanceof GmError) throw err;
    throw new GmError('PRIVATE_KEY_MALFORMED', `encrypted private key: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const prf = kdf.prf?.algorithm;
  if (prf !== OIDS.hmacWithSm3 && prf !== GM_OIDS.hmacSm3 && prf !== OIDS.hmacWithSha256) {
    throw unsupported(`PBKDF2 PRF ${prf ?? 'HMAC-SHA1'}, not HMAC-SM3 or HMAC-SHA256`);
  }
  if (iv.length !== 16 || (kdf.keyLength !== undefined && kdf.keyLength !== 16)) {
    throw unsupported('SM4-CBC needs a 16-byte key and IV');
  }
  if (kdf.iterationCount < 1 || kdf.iterationCount > MAX_ITERATIONS) {
    throw unsupported(`${kdf.iterationCount} PBKDF2 iterations`);
  }
  const password = new TextEncoder().encode(passphrase);
  const salt = new Uint8Array(kdf.salt.buffer);
  const key =
    prf === OIDS.hmacWithSha256
      ? await pbkdf2HmacSha256(password, salt, kdf.iterationCount, 16)
      : pbkdf2HmacSm3(password, salt, kdf.iterationCount, 16);
  try {
    const plain = smCrypto.sm4.decrypt(toHex(new Uint8Array(info.encryptedData.buffer)), toHex(key), {
      mode: 'cbc',
      iv: toHex(iv),
      output: 'array',
    });
    return decodeSm2PrivateKey(Uint8Array.from(plain));
  } catch (err) {
    throw new GmError('PRIVATE_KEY_PASSPHRASE_WRONG', 'the passphrase does not open this private key file', {
      cause: err,
    });
  }
}
