import { decodeSm2Spki } from '@sm2ca/gm';
import { type KmApplyAlgorithms, kmAlgorithmsSupported } from '@sm2ca/pki';
import { kmRefusal } from './km-refusal.ts';

/** certificates.serial's form: the serialNumber INTEGER's content octets (at most 20, and a sign octet) in lowercase hex. */
const userCertNoPattern = /^(?:[0-9a-f]{2}){1,21}$/;

export function checkUserCertNo(userCertNo: string): void {
  if (!userCertNoPattern.test(userCertNo)) {
    throw kmRefusal(
      'MALFORMED',
      'userCertNo must be the certificate serial as lowercase hex of its INTEGER content octets',
    );
  }
}

/** The key a private key is enveloped to: SM2 only, since the envelope is an SM2 encryption to it. */
export function checkEnvelopeKey(spki: Uint8Array): void {
  try {
    decodeSm2Spki(spki);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'SPKI_UNSUPPORTED_CURVE' || code === 'SPKI_UNSUPPORTED_ALGORITHM') {
      throw kmRefusal('ALGORITHM_UNSUPPORTED', `userPublicKey: ${(err as Error).message}; only SM2 keys`);
    }
    throw kmRefusal('MALFORMED', `userPublicKey: ${(err as Error).message}`);
  }
}

/** SM2-256 keys, SM2-encrypted SM4 delivery, SM3: what this KM generates and envelopes, nothing else. */
export function checkAlgorithms(
  userCertNo: string,
  algorithms: Partial<KmApplyAlgorithms> | undefined,
): void {
  if (algorithms && !kmAlgorithmsSupported(algorithms)) {
    throw kmRefusal(
      'ALGORITHM_UNSUPPORTED',
      `${userCertNo}: only SM2-256 keys delivered with SM2 encryption, SM4 and SM3 (asked for ${JSON.stringify(algorithms)})`,
    );
  }
}
