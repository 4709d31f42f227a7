import { keyPurposeOf, type ProfileId } from '@sm2ca/pki';
import { AppError } from '@sm2ca/platform';

/**
 * The encryption profile issued beside each signature profile in a dual enrollment. Each pair
 * carries the same subject and identity rules, so one vetted holder fits both certificates.
 * TLS profiles have no twin: a TLS key both signs and agrees keys, and no KM escrows it.
 */
export const encryptionProfileOf: Readonly<Partial<Record<ProfileId, ProfileId>>> = {
  'person-sign': 'person-encrypt',
  'organization-sign': 'organization-encrypt',
  'device-sign': 'device-encrypt',
};

/**
 * The profile of the encryption certificate an application asks for, or none. An encryption key
 * the holder brought is refused unless the deployment allows it: in a GM dual-certificate system
 * the KM generates and escrows every encryption key, so it can be recovered.
 */
export function encryptionProfileFor(
  profile: ProfileId,
  dual: boolean,
  allowHolderEncryptionKeys: boolean,
): ProfileId | undefined {
  if (keyPurposeOf(profile) === 'encryption' && (dual || !allowHolderEncryptionKeys)) {
    const twin = Object.entries(encryptionProfileOf).find(([, encrypt]) => encrypt === profile)?.[0];
    throw new AppError(
      'ENCRYPTION_KEY_NOT_FROM_KM',
      `a ${profile} key is generated and escrowed by the KM, not brought by the holder: apply for ${twin} with dual: true and the holder's signature request`,
      422,
      { profile, use: { profile: twin, dual: true } },
    );
  }
  if (!dual) return undefined;
  const encryption = encryptionProfileOf[profile];
  if (!encryption) {
    throw new AppError(
      'DUAL_NOT_AVAILABLE',
      `a ${profile} certificate has no encryption twin; dual enrollment is for ${Object.keys(encryptionProfileOf).join(', ')}`,
      422,
      { profile, dualProfiles: Object.keys(encryptionProfileOf) },
    );
  }
  return encryption;
}
