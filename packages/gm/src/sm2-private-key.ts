import { ECPrivateKey } from '@peculiar/asn1-ecc';
import { AsnProp, AsnPropTypes, OctetString } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier } from '@peculiar/asn1-x509';
import { decodeOrThrow, parseDer } from './der.ts';
import { GM_OIDS } from './oids.ts';

/** PKCS#8 PrivateKeyInfo (RFC 5208), the attributes left out: what `openssl genpkey` writes. */
class PrivateKeyInfoAsn {
  version = 0;
  privateKeyAlgorithm = new AlgorithmIdentifier();
  privateKey = new OctetString();
}
AsnProp({ type: AsnPropTypes.Integer })(PrivateKeyInfoAsn.prototype, 'version');
AsnProp({ type: AlgorithmIdentifier })(PrivateKeyInfoAsn.prototype, 'privateKeyAlgorithm');
AsnProp({ type: OctetString })(PrivateKeyInfoAsn.prototype, 'privateKey');

/**
 * The 32-byte scalar of an SM2 private key in DER: PKCS#8 PrivateKeyInfo (id-ecPublicKey or the
 * SM2 OID) or SEC1 ECPrivateKey. For an operator's own key file, kept outside the crypto device.
 */
export function decodeSm2PrivateKey(der: Uint8Array): Uint8Array {
  return decodeOrThrow('SM2_PRIVATE_KEY_MALFORMED', 'SM2 private key', () => {
    let sec1 = der;
    try {
      const info = parseDer(der, PrivateKeyInfoAsn);
      const algorithm = info.privateKeyAlgorithm.algorithm;
      if (algorithm !== GM_OIDS.ecPublicKey && algorithm !== GM_OIDS.sm2) {
        throw new Error(`not an EC key (${algorithm})`);
      }
      sec1 = new Uint8Array(info.privateKey.buffer);
    } catch (err) {
      if (err instanceof Error && err.message.startsWith('not an EC key')) throw err;
    }
    // SEC1 keeps the scalar as an OCTET STRING of the field size; some writers drop leading zeros.
    const scalar = new Uint8Array(parseDer(sec1, ECPrivateKey).privateKey.buffer);
    if (scalar.length === 0 || scalar.length > 32) throw new Error(`a ${scalar.length}-byte scalar`);
    const out = new Uint8Array(32);
    out.set(scalar, 32 - scalar.length);
    return out;
  });
}
