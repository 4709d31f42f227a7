import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openssl } from './openssl-cli.ts';

function pem(der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ENCRYPTED PRIVATE KEY-----\n${lines.join('\n')}\n-----END ENCRYPTED PRIVATE KEY-----\n`;
}

/**
 * OpenSSL 3.0 (Debian's) knows no hmacWithSM3 PRF for `pkcs8 -v2prf`; OpenSSL still does the
 * cryptography here: `kdf PBKDF2` with SM3 derives the key, `enc -sm4-cbc` encrypts the PKCS#8
 * DER, and `asn1parse -genconf` writes the PBES2 structure around it.
 */
function assembledWithSm3Prf(dir: string, keyPath: string, passphrase: string, iterations: number): Buffer {
  const salt = randomBytes(16).toString('hex');
  const iv = randomBytes(16).toString('hex');
  const key = openssl([
    'kdf',
    '-keylen',
    '16',
    '-kdfopt',
    'digest:SM3',
    '-kdfopt',
    `pass:${passphrase}`,
    '-kdfopt',
    `hexsalt:${salt}`,
    '-kdfopt',
    `iter:${iterations}`,
    'PBKDF2',
  ])
    .toString()
    .trim()
    .replaceAll(':', '');
  const plain = openssl(['pkey', '-in', keyPath, '-outform', 'DER']);
  const sealed = openssl(['enc', '-sm4-cbc', '-K', key, '-iv', iv], dir, plain).toString('hex');
  const conf = join(dir, 'pbes2-sm3.cnf');
  writeFileSync(
    conf,
    [
      'asn1=SEQUENCE:epki',
      '[epki]',
      'alg=SEQUENCE:alg',
      `data=FORMAT:HEX,OCTETSTRING:${sealed}`,
      '[alg]',
      'oid=OID:1.2.840.113549.1.5.13',
      'p=SEQUENCE:pbes2',
      '[pbes2]',
      'kdf=SEQUENCE:kdf',
      'enc=SEQUENCE:enc',
      '[kdf]',
      'oid=OID:1.2.840.113549.1.5.12',
      'p=SEQUENCE:kdfp',
      '[kdfp]',
      `salt=FORMAT:HEX,OCTETSTRING:${salt}`,
      `iter=INTEGER:${iterations}`,
      'prf=SEQUENCE:prf',
      '[prf]',
      'oid=OID:1.2.156.10197.1.401.3.1',
      'null=NULL',
      '[enc]',
      'oid=OID:1.2.156.10197.1.104.2',
      `iv=FORMAT:HEX,OCTETSTRING:${iv}`,
      '',
    ].join('\n'),
  );
  return openssl(['asn1parse', '-genconf', conf, '-noout', '-out', '-']);
}

/**
 * The key at `keyPath` as a passphrase-encrypted PKCS#8 PEM file: PBES2, PBKDF2 over HMAC-SM3 (or
 * HMAC-SHA256, what `openssl pkcs8 -v2 sm4-cbc` chooses by itself) and SM4-CBC. Answers its path.
 */
export function opensslEncryptedKey(
  dir: string,
  keyPath: string,
  passphrase: string,
  prf: 'sm3' | 'sha256',
  file = `encrypted-${prf}.pem`,
): string {
  const out = join(dir, file);
  const args = ['pkcs8', '-topk8', '-v2', 'sm4-cbc', '-in', keyPath, '-passout', `pass:${passphrase}`];
  if (prf === 'sha256') {
    openssl([...args, '-out', out]);
    return out;
  }
  const native = spawnSync('openssl', [...args, '-v2prf', 'hmacWithSM3', '-out', out]);
  if (native.status !== 0) writeFileSync(out, pem(assembledWithSm3Prf(dir, keyPath, passphrase, 2048)));
  return out;
}
