import { AsnSerializer } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier } from '@peculiar/asn1-x509';

/** GM/T 0006 SM2-with-SM3 signature. */
export const OID_SM2_WITH_SM3 = '1.2.156.10197.1.501';

/** AlgorithmIdentifier for SM2-with-SM3, emitted without parameters (GM/T 0015). */
export const SM2_WITH_SM3_ALGORITHM: Buffer = Buffer.from(
  AsnSerializer.serialize(new AlgorithmIdentifier({ algorithm: OID_SM2_WITH_SM3 })),
);

/** Accepts absent or NULL parameters on input, as the profile asks. */
export function isSm2WithSm3(algorithm: AlgorithmIdentifier): boolean {
  if (algorithm.algorithm !== OID_SM2_WITH_SM3) return false;
  const params = algorithm.parameters;
  if (params === undefined || params === null) return true;
  const bytes = new Uint8Array(params);
  return bytes.length === 2 && bytes[0] === 0x05 && bytes[1] === 0x00;
}
