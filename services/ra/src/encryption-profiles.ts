import { keyPurposeOf, type ProfileId } from '@sm2ca/pki';
import { AppError } from '@sm2ca/platform';
import type { Pool, PoolClient } from '@sm2ca/store';
import { type ApprovedTemplate, templateForApplication } from './certificate-templates.ts';

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

/**
 * The approved template version a dual application's encryption twin is issued under: the one
 * the signature template names, or else its kind's twin, at its newest approved version. Its kind
 * must be the signature kind's twin, so the KM, the key bindings and the CA see the kind they expect.
 */
export async function encryptionTemplateOf(
  db: Pool | PoolClient,
  signature: ApprovedTemplate,
): Promise<ApprovedTemplate> {
  const twinKind = encryptionProfileOf[signature.kind];
  const name = signature.body.encryptionTemplate ?? twinKind;
  if (!twinKind || !name) {
    throw new AppError('DUAL_NOT_AVAILABLE', `a ${signature.kind} certificate has no encryption twin`, 422, {
      profile: signature.kind,
    });
  }
  const twin = await templateForApplication(db, name);
  if (twin.kind !== twinKind) {
    throw new AppError(
      'TEMPLATE_TWIN_KIND',
      `template ${signature.name} names ${name} as its encryption twin, a ${twin.kind} template: a ${signature.kind} twin is ${twinKind}`,
      422,
      { name: signature.name, encryptionTemplate: name, kind: twin.kind, expected: twinKind },
    );
  }
  // The twin's validity is the signature certificate's, which its own template must allow.
  if (twin.body.validityDays < signature.body.validityDays) {
    throw new AppError(
      'TEMPLATE_TWIN_VALIDITY',
      `template ${name} version ${twin.version} allows ${twin.body.validityDays} days, shorter than the ${signature.body.validityDays} of ${signature.name}: the encryption certificate has the signature certificate's validity`,
      422,
      { name: signature.name, encryptionTemplate: name, version: twin.version },
    );
  }
  return twin;
}
