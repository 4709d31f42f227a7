import {
  AsnIntegerArrayBufferConverter,
  AsnProp,
  AsnPropTypes,
  AsnSerializer,
  AsnType,
  AsnTypeTypes,
  OctetString,
} from '@peculiar/asn1-schema';
import { AlgorithmIdentifier } from '@peculiar/asn1-x509';
import type { Signer } from '../signer.ts';
import {
  certNoFromInteger,
  certNoToInteger,
  checkedEnvelope,
  checkedSpki,
  EntNameAsn,
  entName,
  entNameText,
  envelopeBytes,
  invalid,
  smallUintFromInteger,
  smallUintToInteger,
  spkiBytes,
  taskNoFromInteger,
  taskNoToInteger,
  timeFromDer,
  timeToDer,
} from './km-fields.ts';
import { decodeSignedKmMessage, KM_PROTOCOL_VERSION, type SignedKmAsn, signKmMessage } from './km-signed.ts';

/**
 * publicKey: SubjectPublicKeyInfo DER of the escrowed key. envelopedKey: SM2EnvelopedKey DER
 * (GM/T 0009) to the request's userPublicKey. errDesc begins with the KmErrorCode.
 */
export type KmRespondItem =
  | { kind: 'retKey'; userCertNo: string; publicKey: Uint8Array; envelopedKey: Uint8Array }
  | { kind: 'restoreKey'; userCertNo: string; publicKey: Uint8Array; envelopedKey: Uint8Array }
  | { kind: 'revokeKey'; userCertNo: string }
  | { kind: 'error'; errNo: number; errDesc: string };

/** kmName: the KM's name; taskNo: the request's, echoed. respondTime travels to the second. */
export interface KsRespond {
  kmName: string;
  responses: KmRespondItem[];
  respondTime: Date;
  taskNo: string;
}

/**
 * RetKeyRespond ::= SEQUENCE { userCertNo INTEGER, retPubKey SubjectPublicKeyInfo,
 *   retPriKey SM2EnvelopedKey }
 * Deliberate deviation: GM/T 0014 has retPriKey as a GM/T 0010 SignedAndEnvelopedData. Its
 * signature covers the plaintext private key, so making one needs that key in clear outside the
 * crypto device. We carry the GM/T 0009 SM2EnvelopedKey the device makes instead; the whole
 * KSRespond is signed by the KM, so the envelope is still authenticated.
 */
class RetKeyRespondAsn {
  userCertNo = new ArrayBuffer(0);
  retPubKey = new ArrayBuffer(0);
  retPriKey = new ArrayBuffer(0);
}
AsnProp({ type: AsnPropTypes.Integer, converter: AsnIntegerArrayBufferConverter })(
  RetKeyRespondAsn.prototype,
  'userCertNo',
);
AsnProp({ type: AsnPropTypes.Any })(RetKeyRespondAsn.prototype, 'retPubKey');
AsnProp({ type: AsnPropTypes.Any })(RetKeyRespondAsn.prototype, 'retPriKey');

/** RevokeKeyRespond ::= SEQUENCE { userCertNo INTEGER } */
class RevokeKeyRespondAsn {
  userCertNo = new ArrayBuffer(0);
}
AsnProp({ type: AsnPropTypes.Integer, converter: AsnIntegerArrayBufferConverter })(
  RevokeKeyRespondAsn.prototype,
  'userCertNo',
);

/**
 * ErrorPkgRespond ::= SEQUENCE { errNo INTEGER, errDesc [0] EXPLICIT OCTET STRING OPTIONAL }
 * As gmObject encodes it; errDesc's octets are UTF-8 text. (gm-java puts a SEQUENCE { UTF8String }
 * under the [0]; com.fxal.km two UTF8Strings: the sources disagree, the text was not available.)
 */
class ErrorPkgRespondAsn {
  errNo = new ArrayBuffer(0);
  errDesc?: OctetString;
}
AsnProp({ type: AsnPropTypes.Integer, converter: AsnIntegerArrayBufferConverter })(
  ErrorPkgRespondAsn.prototype,
  'errNo',
);
AsnProp({ type: OctetString, context: 0, optional: true })(ErrorPkgRespondAsn.prototype, 'errDesc');

/**
 * Respond ::= CHOICE { retKeyRespond [0] IMPLICIT RetKeyRespond, restoreKeyRespond [1] IMPLICIT
 *   RetKeyRespond, revokeKeyRespond [2] IMPLICIT RevokeKeyRespond, errorPkgRespond [3] IMPLICIT
 *   ErrorPkgRespond }   (IMPLICIT as gm-java and gmObject encode it)
 */
class RespondAsn {
  retKeyRespond?: RetKeyRespondAsn;
  restoreKeyRespond?: RetKeyRespondAsn;
  revokeKeyRespond?: RevokeKeyRespondAsn;
  errorPkgRespond?: ErrorPkgRespondAsn;
}
AsnProp({ type: RetKeyRespondAsn, context: 0, implicit: true })(RespondAsn.prototype, 'retKeyRespond');
AsnProp({ type: RetKeyRespondAsn, context: 1, implicit: true })(RespondAsn.prototype, 'restoreKeyRespond');
AsnProp({ type: RevokeKeyRespondAsn, context: 2, implicit: true })(RespondAsn.prototype, 'revokeKeyRespond');
AsnProp({ type: ErrorPkgRespondAsn, context: 3, implicit: true })(RespondAsn.prototype, 'errorPkgRespond');
AsnType({ type: AsnTypeTypes.Choice })(RespondAsn);

/**
 * KSRespond ::= SEQUENCE { version INTEGER (1), kmName EntName, respondList SEQUENCE OF Respond,
 *   respondTime GeneralizedTime, taskNO INTEGER }
 */
class KsRespondAsn {
  version = new ArrayBuffer(0);
  kmName = new EntNameAsn();
  respondList: RespondAsn[] = [];
  respondTime = new ArrayBuffer(0);
  taskNO = new ArrayBuffer(0);
}
AsnProp({ type: AsnPropTypes.Integer, converter: AsnIntegerArrayBufferConverter })(
  KsRespondAsn.prototype,
  'version',
);
AsnProp({ type: EntNameAsn })(KsRespondAsn.prototype, 'kmName');
AsnProp({ type: RespondAsn, repeated: 'sequence' })(KsRespondAsn.prototype, 'respondList');
AsnProp({ type: AsnPropTypes.Any })(KsRespondAsn.prototype, 'respondTime');
AsnProp({ type: AsnPropTypes.Integer, converter: AsnIntegerArrayBufferConverter })(
  KsRespondAsn.prototype,
  'taskNO',
);

/** KMRespond ::= SEQUENCE { ksRespond KSRespond, sigAlg AlgorithmIdentifier, signature OCTET STRING } */
class KmRespondAsn implements SignedKmAsn<KsRespondAsn> {
  /** ksRespond */
  tbs = new KsRespondAsn();
  tbsRaw?: ArrayBuffer;
  sigAlg = new AlgorithmIdentifier();
  signature = new ArrayBuffer(0);
}
AsnProp({ type: KsRespondAsn, raw: true })(KmRespondAsn.prototype, 'tbs');
AsnProp({ type: AlgorithmIdentifier })(KmRespondAsn.prototype, 'sigAlg');
AsnProp({ type: AsnPropTypes.OctetString })(KmRespondAsn.prototype, 'signature');

/** The DER of the KSRespond, i.e. exactly the bytes the KMRespond signature covers. */
export function encodeKsRespond(respond: KsRespond): Uint8Array {
  if (respond.responses.length === 0) invalid('a KSRespond carries at least one response');
  const asn = new KsRespondAsn();
  asn.version = smallUintToInteger(KM_PROTOCOL_VERSION, 'version');
  asn.kmName = entName(respond.kmName);
  asn.respondList = respond.responses.map(respondAsn);
  asn.respondTime = timeToDer(respond.respondTime);
  asn.taskNO = taskNoToInteger(respond.taskNo);
  return new Uint8Array(AsnSerializer.serialize(asn));
}

/** KMRespond DER: the KSRespond signed SM2-with-SM3 by the KM's key. */
export async function signKmRespond(respond: KsRespond, signer: Signer): Promise<Uint8Array> {
  return signKmMessage(encodeKsRespond(respond), signer);
}

/**
 * Reads a KMRespond. `tbs` is the KSRespond exactly as received, for verifying `signature`
 * (SM2-with-SM3 DER). Anything malformed throws PkiError(KM_MESSAGE_MALFORMED).
 */
export function decodeKmRespond(der: Uint8Array): {
  respond: KsRespond;
  tbs: Uint8Array;
  signature: Uint8Array;
} {
  const { message, tbs, signature } = decodeSignedKmMessage('KMRespond', der, KmRespondAsn, (ks) => {
    if (ks.respondList.length === 0) throw new Error('empty respondList');
    return {
      kmName: entNameText(ks.kmName),
      responses: ks.respondList.map(respondItem),
      respondTime: timeFromDer(ks.respondTime),
      taskNo: taskNoFromInteger(ks.taskNO),
    };
  });
  return { respond: message, tbs, signature };
}

function retKeyAsn(item: {
  userCertNo: string;
  publicKey: Uint8Array;
  envelopedKey: Uint8Array;
}): RetKeyRespondAsn {
  const asn = new RetKeyRespondAsn();
  asn.userCertNo = certNoToInteger(item.userCertNo);
  asn.retPubKey = spkiBytes(item.publicKey, 'publicKey');
  asn.retPriKey = envelopeBytes(item.envelopedKey);
  return asn;
}

function respondAsn(item: KmRespondItem): RespondAsn {
  const out = new RespondAsn();
  switch (item.kind) {
    case 'retKey':
      out.retKeyRespond = retKeyAsn(item);
      return out;
    case 'restoreKey':
      out.restoreKeyRespond = retKeyAsn(item);
      return out;
    case 'revokeKey': {
      const asn = new RevokeKeyRespondAsn();
      asn.userCertNo = certNoToInteger(item.userCertNo);
      out.revokeKeyRespond = asn;
      return out;
    }
    case 'error': {
      const asn = new ErrorPkgRespondAsn();
      asn.errNo = smallUintToInteger(item.errNo, 'errNo');
      asn.errDesc = new OctetString(new TextEncoder().encode(item.errDesc));
      out.errorPkgRespond = asn;
      return out;
    }
  }
}

function retKeyFields(asn: RetKeyRespondAsn) {
  return {
    userCertNo: certNoFromInteger(asn.userCertNo),
    publicKey: checkedSpki(asn.retPubKey),
    envelopedKey: checkedEnvelope(asn.retPriKey),
  };
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

function respondItem(asn: RespondAsn): KmRespondItem {
  if (asn.retKeyRespond) return { kind: 'retKey', ...retKeyFields(asn.retKeyRespond) };
  if (asn.restoreKeyRespond) return { kind: 'restoreKey', ...retKeyFields(asn.restoreKeyRespond) };
  if (asn.revokeKeyRespond) {
    return { kind: 'revokeKey', userCertNo: certNoFromInteger(asn.revokeKeyRespond.userCertNo) };
  }
  if (asn.errorPkgRespond) {
    const { errNo, errDesc } = asn.errorPkgRespond;
    return {
      kind: 'error',
      errNo: smallUintFromInteger(errNo),
      errDesc: errDesc ? UTF8.decode(errDesc.buffer) : '',
    };
  }
  throw new Error('Respond of no known kind');
}
