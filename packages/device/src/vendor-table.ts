import { DeviceError } from './device-error.ts';
import hsmSim from './vendors/hsm-sim.json' with { type: 'json' };
import sansec from './vendors/sansec.json' with { type: 'json' };
import softhsm from './vendors/softhsm.json' with { type: 'json' };
import tass from './vendors/tass.json' with { type: 'json' };

export type VendorName = 'hsm-sim' | 'sansec' | 'tass' | 'softhsm';

/**
 * PKCS#11 defines no SM2/SM3/SM4, so every number the device layer sends for them comes from one of
 * these per-vendor tables. `null` means the device lacks the mechanism.
 */
export interface VendorTable {
  name: VendorName;
  /** sm2 = SM2-with-SM3 signatures and SM2 encryption; ecdsa-p256 = the standard-mechanism stand-in. */
  algorithm: 'sm2' | 'ecdsa-p256';
  curveOid: string;
  keyTypes: { ec: number; secret: number };
  /** CKA_VALUE_LEN for secret-key generation, for devices whose key type has no fixed length. */
  secretKeyValueLen: number | null;
  mechanisms: {
    keyPairGen: number;
    /** Signs the message, hashing inside the device; for SM2 the parameter is the signer ID. */
    sign: number | null;
    /** Signs a digest computed by the host (SM2: e = SM3(Z ‖ M)). */
    signRaw: number | null;
    encrypt: number | null;
    digest: number | null;
    secretKeyGen: number;
    secretEcb: number | null;
    secretCbc: number | null;
    /** Wraps a private key under a secret key. */
    wrapPrivate: number | null;
    /** Wraps a secret key under a public key. */
    wrapSecret: number | null;
  };
  quirks: {
    /** host: the device cannot take the signer ID (or the message), so the host hashes and calls signRaw. */
    signMode: 'device' | 'host';
    signatureFormat: 'raw' | 'der';
    ecPointFormat: 'octet-string' | 'raw';
    /** Whether key-pair generation wants CKA_EC_PARAMS in the public template. */
    ecParamsInKeyGen: boolean;
  };
}

type RawTable = Omit<VendorTable, 'keyTypes' | 'mechanisms' | 'name'> & {
  name: string;
  keyTypes: Record<keyof VendorTable['keyTypes'], string>;
  mechanisms: Record<keyof VendorTable['mechanisms'], string | null>;
};

const rawTables: Record<VendorName, RawTable> = {
  'hsm-sim': hsmSim as RawTable,
  sansec: sansec as RawTable,
  tass: tass as RawTable,
  softhsm: softhsm as RawTable,
};

// JSON has no hex literals, and vendors document their numbers in hex.
function parseNumber(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`bad number in vendor table: ${value}`);
  return n;
}

export function vendorTable(name: VendorName): VendorTable {
  const raw = rawTables[name];
  if (!raw) throw new DeviceError('DEVICE_BAD_INPUT', `unknown device vendor: ${name}`);
  const mechanisms = Object.fromEntries(
    Object.entries(raw.mechanisms).map(([k, v]) => [k, v === null ? null : parseNumber(v)]),
  ) as VendorTable['mechanisms'];
  return {
    ...raw,
    name,
    keyTypes: { ec: parseNumber(raw.keyTypes.ec), secret: parseNumber(raw.keyTypes.secret) },
    mechanisms,
  };
}
