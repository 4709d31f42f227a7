import {
  AsnIntegerArrayBufferConverter,
  AsnProp,
  AsnPropTypes,
  AsnSerializer,
  OctetString,
} from '@peculiar/asn1-schema';
import { AlgorithmIdentifier, GeneralName, Name, SubjectPublicKeyInfo } from '@peculiar/asn1-x509';
import { bytesEqual, decodeSm2EnvelopedKey, fromHex, parseDer, toHex } from '@sm2ca/gm';
import { expectTag, readTime, readTlv } from '../crl-der-reader.ts';
import { derIntegerContent, writeDerGeneralizedTime } from '../crl-der-writer.ts';
import { decodeName, encodeName } from '../name.ts';
import { OIDS } from '../oids.ts';
import { PkiError } from '../pki-error.ts';

/** Thrown by the encoders when the caller hands them something the protocol cannot carry. */
export function invalid(message: string): never {
  throw new PkiError('KM_MESSAGE_INVALID', message);
}

/**
 * The schema parser skips SEQUENCE elements it has no field for and reads BER, so a message is
 * also re-encoded from what was parsed: anything but the same bytes is extra or non-DER content.
 * (The signature is still checked over the bytes received; this only refuses what is not DER.)
 */
export function requireDer(der: Uint8Array, parsed: object): void {
  if (!bytesEqual(new Uint8Array(AsnSerializer.serialize(parsed)), der)) {
    throw new Error('not DER, or elements the message does not define');
  }
}

/**
 * EntName ::= SEQUENCE { hashAlgorithm AlgorithmIdentifier, entName GeneralName,
 *   entPubKeyHash OCTET STRING, serialNumber INTEGER }
 * (GM/T 0014 as gmObject, gm-java and com.fxal.km all spell it.) The standard identifies the
 * sender also by its certificate's key hash and serial; our contract knows only the name, so we
 * send SM3, an empty hash and serial 0, and the KM finds the sender's certificate by trying its
 * current certificates of the permitted kinds. Received values of those two fields are ignored.
 */
export class EntNameAsn {
  hashAlgorithm = new AlgorithmIdentifier();
  entName = new GeneralName();
  entPubKeyHash = new OctetString();
  serialNumber = new ArrayBuffer(0);
}
AsnProp({ type: AlgorithmIdentifier })(EntNameAsn.prototype, 'hashAlgorithm');
AsnProp({ type: GeneralName })(EntNameAsn.prototype, 'entName');
AsnProp({ type: OctetString })(EntNameAsn.prototype, 'entPubKeyHash');
AsnProp({ type: AsnPropTypes.Integer, converter: AsnIntegerArrayBufferConverter })(
  EntNameAsn.prototype,
  'serialNumber',
);

/** The name as GeneralName directoryName holding one CN (UTF8String). */
export function entName(name: string): EntNameAsn {
  if (name.length === 0) invalid('empty entity name');
  const asn = new EntNameAsn();
  asn.hashAlgorithm = new AlgorithmIdentifier({ algorithm: OIDS.sm3 });
  asn.entName = new GeneralName({ directoryName: parseDer(encodeName([{ type: 'CN', value: name }]), Name) });
  asn.serialNumber = new Uint8Array([0]).buffer;
  return asn;
}

/** The CN of a directoryName (exactly one CN), or the text of a dNSName/URI/rfc822Name. */
export function entNameText(asn: EntNameAsn): string {
  const name = asn.entName;
  if (name.directoryName) {
    const cns = decodeName(new Uint8Array(AsnSerializer.serialize(name.directoryName))).filter(
      (a) => a.oid === OIDS.commonName,
    );
    if (cns.length !== 1 || !cns[0]?.value) throw new Error('entName directoryName without exactly one CN');
    return cns[0].value;
  }
  const text = name.dNSName ?? name.uniformResourceIdentifier ?? name.rfc822Name;
  if (!text) throw new Error('entName of an unsupported GeneralName form');
  return text;
}

/** GeneralizedTime to the second (YYYYMMDDHHMMSSZ), the element's DER for an ANY field. */
export function timeToDer(date: Date): ArrayBuffer {
  const year = date.getUTCFullYear();
  if (!(year >= 0 && year <= 9999)) invalid(`time out of range: ${String(date)}`);
  const out = new Uint8Array(17);
  writeDerGeneralizedTime(out, 0, date);
  return out.buffer;
}

/**
 * Only YYYYMMDDHHMMSSZ: asn1js alone would also read local times and missing seconds, which
 * would let two parties disagree on the instant a signed message names.
 */
export function timeFromDer(raw: ArrayBuffer): Date {
  const der = new Uint8Array(raw);
  const tlv = expectTag(readTlv(der, 0, der.length), 0x18, 'GeneralizedTime');
  if (tlv.end !== der.length) throw new Error('trailing bytes after GeneralizedTime');
  return readTime(der, tlv);
}

/**
 * userCertNo is the certificate's serialNumber INTEGER (GM/T 0014); in TypeScript the lowercase hex
 * of its content octets, as certificates.serial stores it, so the bytes round-trip exactly.
 */
export function certNoToInteger(hex: string): ArrayBuffer {
  if (!/^(?:[0-9a-f]{2})+$/.test(hex)) invalid(`userCertNo must be lowercase hex bytes: ${hex}`);
  const bytes = fromHex(hex);
  const problem = serialProblem(bytes);
  if (problem) invalid(problem);
  return bytes.slice().buffer;
}

export function certNoFromInteger(content: ArrayBuffer): string {
  const bytes = new Uint8Array(content);
  const problem = serialProblem(bytes);
  if (problem) throw new Error(problem);
  return toHex(bytes);
}

function serialProblem(bytes: Uint8Array): string | undefined {
  const [first, second] = bytes;
  if (first === undefined) return 'empty certificate serial number';
  if (first & 0x80) return 'negative certificate serial number';
  if (first === 0 && second !== undefined && (second & 0x80) === 0) {
    return 'certificate serial number not minimally encoded';
  }
  return undefined;
}

const TASK_NO = /^[A-Za-z0-9-]{8,64}$/;

/**
 * taskNO is an INTEGER in GM/T 0014 (all three public implementations agree); our task number is
 * the caller's request id, 8–64 letters, digits and dashes. It travels as the INTEGER whose content
 * octets are those ASCII characters: always positive and minimal (no character is below 0x80 or
 * zero), and it round-trips exactly. An INTEGER that is not such a string is refused.
 */
export function taskNoToInteger(taskNo: string): ArrayBuffer {
  if (!TASK_NO.test(taskNo)) invalid(`taskNo must be 8–64 letters, digits or dashes: ${taskNo}`);
  return new TextEncoder().encode(taskNo).buffer;
}

export function taskNoFromInteger(content: ArrayBuffer): string {
  const text = Buffer.from(content).toString('latin1');
  if (!TASK_NO.test(text)) throw new Error('taskNO is not an 8–64 character request id');
  return text;
}

/** A SubjectPublicKeyInfo's DER, checked to be one, for fields carried verbatim. */
export function spkiBytes(der: Uint8Array, what: string): ArrayBuffer {
  try {
    parseDer(der, SubjectPublicKeyInfo);
  } catch (err) {
    invalid(`${what} is not a SubjectPublicKeyInfo: ${(err as Error).message}`);
  }
  return der.slice().buffer;
}

export function checkedSpki(raw: ArrayBuffer): Uint8Array {
  const der = new Uint8Array(raw);
  requireDer(der, parseDer(der, SubjectPublicKeyInfo));
  return der;
}

export function envelopeBytes(der: Uint8Array): ArrayBuffer {
  try {
    decodeSm2EnvelopedKey(der);
  } catch (err) {
    invalid(`envelopedKey is not an SM2EnvelopedKey: ${(err as Error).message}`);
  }
  return der.slice().buffer;
}

export function checkedEnvelope(raw: ArrayBuffer): Uint8Array {
  const der = new Uint8Array(raw);
  decodeSm2EnvelopedKey(der);
  return der;
}

/** A small non-negative INTEGER (key lengths, error numbers) from its content octets. */
export function smallUintFromInteger(content: ArrayBuffer): number {
  const bytes = new Uint8Array(content);
  const problem = serialProblem(bytes);
  if (problem) throw new Error(problem.replace('certificate serial number', 'INTEGER'));
  const magnitude = bytes[0] === 0 ? bytes.subarray(1) : bytes;
  if (magnitude.length > 4) throw new Error('INTEGER too large');
  return magnitude.reduce((n, b) => n * 256 + b, 0);
}

export function smallUintToInteger(value: number, what: string): ArrayBuffer {
  if (!Number.isSafeInteger(value) || value < 0 || value > 0xffffffff)
    invalid(`${what} out of range: ${value}`);
  return Uint8Array.from(derIntegerContent(BigInt(value))).buffer;
}
