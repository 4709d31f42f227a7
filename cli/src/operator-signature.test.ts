import { rmSync } from 'node:fs';
import smCrypto from 'sm-crypto';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { opensslSm2Key, tempDir } from '../../test/support/openssl-cli.ts';
import { opensslEncryptedKey } from '../../test/support/openssl-encrypted-key.ts';
import { signWithKeyFile } from './operator-signature.ts';

describe('signWithKeyFile', () => {
  const dir = tempDir('cli-operator-signature-');
  const key = opensslSm2Key(dir);
  const message = new TextEncoder().encode('challenge');
  const verifies = (signature: Buffer) =>
    smCrypto.sm2.doVerifySignature(
      Array.from(message),
      signature.toString('hex'),
      Buffer.from(key.publicKey).toString('hex'),
      { hash: true, der: true, userId: '1234567812345678' },
    );
  afterEach(() => {
    delete process.env.SM2CA_KEY_PASSPHRASE;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('signs with a plain key file and with an encrypted one opened by SM2CA_KEY_PASSPHRASE', async () => {
    expect(verifies(await signWithKeyFile(key.keyPath, message))).toBe(true);
    const encrypted = opensslEncryptedKey(dir, key.keyPath, 'operator passphrase', 'sm3');
    process.env.SM2CA_KEY_PASSPHRASE = 'operator passphrase';
    expect(verifies(await signWithKeyFile(encrypted, message))).toBe(true);
    process.env.SM2CA_KEY_PASSPHRASE = 'another';
    await expect(signWithKeyFile(encrypted, message)).rejects.toMatchObject({
      code: 'PRIVATE_KEY_PASSPHRASE_WRONG',
    });
  });

  it('asks on the terminal when no passphrase is set, and refuses without one', async () => {
    const encrypted = opensslEncryptedKey(dir, key.keyPath, 'x', 'sha256', 'no-terminal.pem');
    await expect(signWithKeyFile(encrypted, message)).rejects.toMatchObject({
      code: 'SECRET_PROMPT_NO_TERMINAL',
    });
  });
});
