import type { Device, KeyPairInspection } from '@sm2ca/device';

/**
 * Everything that keeps a key from being a service key: made in the device, never out of it, sign-only.
 * A CA key (`backup`) may instead leave it, but only under a key the security officer made trusted.
 */
function shortcomings(found: KeyPairInspection, backup: boolean): string[] {
  const reasons: string[] = [];
  if (found.privateKeys !== 1) reasons.push(`${found.privateKeys} private keys carry the label`);
  if (found.publicKeys !== 1) reasons.push(`${found.publicKeys} public keys carry the label`);
  const key = found.privateKey;
  if (!key) return reasons;
  if (!key.private) reasons.push('not CKA_PRIVATE');
  if (!key.sensitive || !key.alwaysSensitive) reasons.push('not CKA_SENSITIVE since its creation');
  if ((key.extractable || !key.neverExtractable) && !(backup && key.wrapWithTrusted)) {
    reasons.push(
      backup ? 'CKA_EXTRACTABLE, now or once, without CKA_WRAP_WITH_TRUSTED' : 'CKA_EXTRACTABLE, now or once',
    );
  }
  if (!key.local) reasons.push('imported rather than generated in the device');
  if (!key.sign) reasons.push('no CKA_SIGN');
  if (key.decrypt) reasons.push('CKA_DECRYPT');
  if (key.unwrap) reasons.push('CKA_UNWRAP');
  return reasons;
}

/**
 * Why the key pair `found` under `label` must not become a service key, or nothing when it may: it is
 * what the ceremony itself would have generated, and its private half signs what its public half
 * verifies. Without this anyone able to create keys on the token could plant, say, the next OCSP
 * signer's key.
 */
export async function adoptionRefusal(
  device: Device,
  label: string,
  found: KeyPairInspection,
  options: { backup?: boolean } = {},
): Promise<string[]> {
  const reasons = shortcomings(found, options.backup ?? false);
  if (reasons.length > 0) return reasons;
  const challenge = await device.random(32);
  const signature = await device.sign(label, challenge);
  return (await device.verify(await device.publicKey(label), challenge, signature))
    ? []
    : ['its private key does not match its public key'];
}
