import { type Static, Type } from '@sinclair/typebox';
import { derToPem, encodeCsrResponse } from '@sm2ca/pki';

export const downloadFormats = ['pem', 'der', 'csr-response'] as const;
export type DownloadFormat = (typeof downloadFormats)[number];

/**
 * GM/T 0092 names no media type for its CSRResponse; a vendor type of our own, with the
 * registered +der suffix, lets a client tell it from the JSON and PEM answers of the same route.
 */
export const csrResponseType = 'application/vnd.sm2ca.csr-response+der';

/** What a holder's download code hands over: the certificates and, for a dual application, the enveloped key. */
export interface Delivered {
  issuerId: string;
  serial: string;
  certificate: Buffer;
  /** DER, issuing CA first, root last. */
  chain: Buffer[];
  encryption?: { serial: string; certificate: Buffer; envelopedKey: Buffer };
}

export const DerDownload = Type.Object({
  issuerId: Type.String(),
  serial: Type.String(),
  certificate: Type.String({ description: 'the (signature) certificate, base64 DER' }),
  chain: Type.Array(Type.String(), { description: 'base64 DER, issuing CA first, root last' }),
  encryption: Type.Optional(
    Type.Object(
      {
        serial: Type.String({ description: 'issued by issuerId, like the signature certificate' }),
        certificate: Type.String({ description: 'the encryption certificate, base64 DER' }),
        envelopedKey: Type.String({
          description:
            "SM2EnvelopedKey (GM/T 0009), base64 DER: the encryption private key under an SM4 key that is SM2-encrypted to the signature certificate's public key",
        }),
      },
      { description: 'dual applications only' },
    ),
  ),
  csrResponse: Type.Optional(
    Type.String({
      description:
        'dual applications only: GM/T 0092 CSRResponse { signCertificate, [0] SM2EnvelopedKey, [1] encryptCertificate }, base64 DER',
    }),
  ),
});
type DerDownload = Static<typeof DerDownload>;

/** The certificate then its chain, as RFC 8555's application/pem-certificate-chain. */
export function pemChainOf(delivered: Delivered): string {
  return [delivered.certificate, ...delivered.chain].map((der) => derToPem(der, 'CERTIFICATE')).join('');
}

/** GM/T 0092 CSRResponse; a single application's holds the signature certificate alone. */
export function csrResponseOf(delivered: Delivered): Uint8Array {
  return encodeCsrResponse({
    signCertificate: delivered.certificate,
    ...(delivered.encryption
      ? {
          envelopedKey: delivered.encryption.envelopedKey,
          encryptCertificate: delivered.encryption.certificate,
        }
      : {}),
  });
}

export function derDownloadOf(delivered: Delivered): DerDownload {
  const base64 = (der: Uint8Array) => Buffer.from(der).toString('base64');
  const single = {
    issuerId: delivered.issuerId,
    serial: delivered.serial,
    certificate: base64(delivered.certificate),
    chain: delivered.chain.map(base64),
  };
  if (!delivered.encryption) return single;
  const { serial, certificate, envelopedKey } = delivered.encryption;
  return {
    ...single,
    encryption: { serial, certificate: base64(certificate), envelopedKey: base64(envelopedKey) },
    csrResponse: base64(csrResponseOf(delivered)),
  };
}
