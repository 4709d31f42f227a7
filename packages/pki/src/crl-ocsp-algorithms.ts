import { AsnSerializer } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier } from '@peculiar/asn1-x509';
import { OIDS } from './oids.ts';

export const OID_SM2_WITH_SM3 = OIDS.sm2WithSm3;

/** AlgorithmIdentifier for SM2-with-SM3, emitted without parameters (GM/T 0015). */
export const SM2_WITH_SM3_ALGORITHM: Buffer = Buffer.from(
  AsnSerializer.serialize(new AlgorithmIdentifier({ algorithm: OID_SM2_WITH_SM3 })),
);
