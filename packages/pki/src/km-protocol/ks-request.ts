import {
  AsnIntegerArrayBufferConverter,
  AsnProp,
  AsnPropTypes,
  AsnSerializer,
  AsnType,
  AsnTypeTypes,
} from '@peculiar/asn1-schema';
import { AlgorithmIdentifier } from '@peculiar/asn1-x509';
import { OIDS } from '../oids.ts';
import type { Signer } from '../signer.ts';
import {
  certNoFromInteger,
  certNoToInteger,
  checkedSpki,
  EntNameAsn,
  entName,
  entNameText,
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

/** Algorithms of the key the KM is to return and of its delivery (GM/T 0014 RestoreKeyReq). */
export interface KmReturnAlgorithms {
  /** retAsymAlg: what the envelope's symmetric key is encrypted with. */
  retAsymAlg: string;
  /** retSymAlg: what the private key is encrypted with inside the envelope. */
  retSymAlg: string;
  retHashAlg: string;
}

/** ApplyKeyReq's algorithms: those of the key to generate, and of its delivery. */
export interface KmApplyAlgorithms extends KmReturnAlgorithms {
  appKeyType: string;
  /** appKeyLen in bits. */
  appKeyLength: number;
}

/** What our CA asks for and our KM serves: an SM2-256 key, delivered SM2-encrypted, SM4, SM3. */
export const KM_DEFAULT_ALGORITHMS: Readonly<KmApplyAlgorithms> = {
  appKeyType: OIDS.sm2,
  appKeyLength: 256,
  retAsymAlg: OIDS.sm2Encrypt,
  retSymAlg: OIDS.sm4,
  retHashAlg: OIDS.sm3,
};

/**
 * True for the algorithms the KM serves. The plain SM2 OID is taken for SM2 encryption and
 * SM4-ECB for SM4, because other CAs name them so (our envelope is SM4-ECB).
 */
export function kmAlgorithmsSupported(algorithms: Partial<KmApplyAlgorithms>): boolean {
  const { appKeyType, appKeyLength, retAsymAlg, retSymAlg, retHashAlg } = algorithms;
  return (
    (appKeyType === undefined || appKeyType === OIDS.sm2) &&
    (appKeyLength === undefined || appKeyLength === 256) &&
    (retAsymAlg === OIDS.sm2Encrypt || retAsymAlg === OIDS.sm2) &&
    (retSymAlg === OIDS.sm4 || retSymAlg === OIDS.sm4Ecb) &&
    retHashAlg === OIDS.sm3
  );
}

/**
 * userCertNo: the encryption certificate's serial as certificates.serial stores it (lowercase hex
 * of the serialNumber INTEGER's content octets). userPublicKey: SubjectPublicKeyInfo DER of the key
 * the private key is to be enveloped to. `algorithms` defaults to KM_DEFAULT_ALGORITHMS when
 * encoding and is always set by the decoder, so the KM can refuse what it does not serve.
 */
export type KmRequestItem =
  | {
      kind: 'applyKey';
      userCertNo: string;
      userPublicKey: Uint8Array;
      notBefore: Date;
      notAfter: Date;
      algorithms?: KmApplyAlgorithms;
    }
  | { kind: 'restoreKey'; userCertNo: string; userPublicKey: Uint8Array; algorithms?: KmReturnAlgorithms }
  | { kind: 'revokeKey'; userCertNo: string };

/**
 * caName: the issuer id of the CA the encryption certificate is (to be) issued by. taskNo: the
 * caller's request id, 8–64 letters, digits and dashes. requestTime travels to the second.
 */
export interface KsRequest {
  caName: string;
  requests: KmRequestItem[];
  requestTime: Date;
  taskNo: string;
}

/**
 * AppUserInfo ::= SEQUENCE { userCertNo INTEGER, userPubKey SubjectPublicKeyInfo,
 *   notBefore GeneralizedTime, notAfter GeneralizedTime, userName [0] EXPLICIT OCTET STRING OPTIONAL,
 *   dsCode [1] EXPLICIT ANY OPTIONAL, extendInfo [2] EXPLICIT ANY OPTIONAL }
 * We never send the three optional fields; they are accepted and ignored (gmObject and gm-java
 * agree on the tags, not on dsCode's and extendInfo's string type).
 */
class AppUserInfoAsn {
  userCertNo = new ArrayBuffer(0);
  userPubKey = new ArrayBuffer(0);
  notBefore = new ArrayBuffer(0);
  notAfter = new ArrayBuffer(0);
  userName?: ArrayBuffer;
  dsCode?: ArrayBuffer;
  extendInfo?: ArrayBuffer;
}
AsnProp({ type: AsnPropTypes.Integer, converter: AsnIntegerArrayBufferConverter })(
  AppUserInfoAsn.prototype,
  'userCertNo',
);
AsnProp({ type: AsnPropTypes.Any })(AppUserInfoAsn.prototype, 'userPubKey');
AsnProp({ type: AsnPropTypes.Any })(AppUserInfoAsn.prototype, 'notBefore');
AsnProp({ type: AsnPropTypes.Any })(AppUserInfoAsn.prototype, 'notAfter');
AsnProp({ type: AsnPropTypes.OctetString, context: 0, optional: true })(AppUserInfoAsn.prototype, 'userName');
AsnProp({ type: AsnPropTypes.Any, context: 1, optional: true })(AppUserInfoAsn.prototype, 'dsCode');
AsnProp({ type: AsnPropTypes.Any, context: 2, optional: true })(AppUserInfoAsn.prototype, 'extendInfo');

/**
 * ApplyKeyReq ::= SEQUENCE { appKeyType AlgorithmIdentifier, appKeyLen INTEGER,
 *   retAsymAlg AlgorithmIdentifier, retSymAlg AlgorithmIdentifier, retHashAlg AlgorithmIdentifier,
 *   appUserInfo AppUserInfo }
 * appKeyLen is in gmObject and gm-java though GM-NOTES does not list it.
 */
class ApplyKeyReqAsn {
  appKeyType = new AlgorithmIdentifier();
  appKeyLen = new ArrayBuffer(0);
  retAsymAlg = new AlgorithmIdentifier();
  retSymAlg = new AlgorithmIdentifier();
  retHashAlg = new AlgorithmIdentifier();
  appUserInfo = new AppUserInfoAsn();
}
AsnProp({ type: AlgorithmIdentifier })(ApplyKeyReqAsn.prototype, 'appKeyType');
AsnProp({ type: AsnPropTypes.Integer, converter: AsnIntegerArrayBufferConverter })(
  ApplyKeyReqAsn.prototype,
  'appKeyLen',
);
AsnProp({ type: AlgorithmIdentifier })(ApplyKeyReqAsn.prototype, 'retAsymAlg');
AsnProp({ type: AlgorithmIdentifier })(ApplyKeyReqAsn.prototype, 'retSymAlg');
AsnProp({ type: AlgorithmIdentifier })(ApplyKeyReqAsn.prototype, 'retHashAlg');
AsnProp({ type: AppUserInfoAsn })(ApplyKeyReqAsn.prototype, 'appUserInfo');

/**
 * RestoreKeyReq ::= SEQUENCE { retAsymAlg AlgorithmIdentifier, retSymAlg AlgorithmIdentifier,
 *   retHashAlg AlgorithmIdentifier, userCertNo INTEGER, userPubKey SubjectPublicKeyInfo }
 */
class RestoreKeyReqAsn {
  retAsymAlg = new AlgorithmIdentifier();
  retSymAlg = new AlgorithmIdentifier();
  retHashAlg = new AlgorithmIdentifier();
  userCertNo = new ArrayBuffer(0);
  userPubKey = new ArrayBuffer(0);
}
AsnProp({ type: AlgorithmIdentifier })(RestoreKeyReqAsn.prototype, 'retAsymAlg');
AsnProp({ type: AlgorithmIdentifier })(RestoreKeyReqAsn.prototype, 'retSymAlg');
AsnProp({ type: AlgorithmIdentifier })(RestoreKeyReqAsn.prototype, 'retHashAlg');
AsnProp({ type: AsnPropTypes.Integer, converter: AsnIntegerArrayBufferConverter })(
  RestoreKeyReqAsn.prototype,
  'userCertNo',
);
AsnProp({ type: AsnPropTypes.Any })(RestoreKeyReqAsn.prototype, 'userPubKey');

/** RevokeKeyReq ::= SEQUENCE { userCertNo INTEGER } */
class RevokeKeyReqAsn {
  userCertNo = new ArrayBuffer(0);
}
AsnProp({ type: AsnPropTypes.Integer, converter: AsnIntegerArrayBufferConverter })(
  RevokeKeyReqAsn.prototype,
  'userCertNo',
);

/**
 * Request ::= CHOICE { applyKeyReq [0] IMPLICIT ApplyKeyReq, restoreKeyReq [1] IMPLICIT
 *   RestoreKeyReq, revokeKeyReq [2] IMPLICIT RevokeKeyReq }
 * IMPLICIT as gm-java and gmObject both encode it (GM-NOTES: tagging unconfirmed by the text).
 */
class RequestAsn {
  applyKeyReq?: ApplyKeyReqAsn;
  restoreKeyReq?: RestoreKeyReqAsn;
  revokeKeyReq?: RevokeKeyReqAsn;
}
AsnProp({ type: ApplyKeyReqAsn, context: 0, implicit: true })(RequestAsn.prototype, 'applyKeyReq');
AsnProp({ type: RestoreKeyReqAsn, context: 1, implicit: true })(RequestAsn.prototype, 'restoreKeyReq');
AsnProp({ type: RevokeKeyReqAsn, context: 2, implicit: true })(RequestAsn.prototype, 'revokeKeyReq');
AsnType({ type: AsnTypeTypes.Choice })(RequestAsn);

/**
 * KSRequest ::= SEQUENCE { version INTEGER (1), caName EntName, requestList SEQUENCE OF Request,
 *   requestTime GeneralizedTime, taskNO INTEGER }
 */
class KsRequestAsn {
  version = new ArrayBuffer(0);
  caName = new EntNameAsn();
  requestList: RequestAsn[] = [];
  requestTime = new ArrayBuffer(0);
  taskNO = new ArrayBuffer(0);
}
AsnProp({ type: AsnPropTypes.Integer, converter: AsnIntegerArrayBufferConverter })(
  KsRequestAsn.prototype,
  'version',
);
AsnProp({ type: EntNameAsn })(KsRequestAsn.prototype, 'caName');
AsnProp({ type: RequestAsn, repeated: 'sequence' })(KsRequestAsn.prototype, 'requestList');
AsnProp({ type: AsnPropTypes.Any })(KsRequestAsn.prototype, 'requestTime');
AsnProp({ type: AsnPropTypes.Integer, converter: AsnIntegerArrayBufferConverter })(
  KsRequestAsn.prototype,
  'taskNO',
);

/** CARequest ::= SEQUENCE { ksRequest KSRequest, sigAlg AlgorithmIdentifier, signature OCTET STRING } */
class CaRequestAsn implements SignedKmAsn<KsRequestAsn> {
  /** ksRequest */
  tbs = new KsRequestAsn();
  tbsRaw?: ArrayBuffer;
  sigAlg = new AlgorithmIdentifier();
  signature = new ArrayBuffer(0);
}
AsnProp({ type: KsRequestAsn, raw: true })(CaRequestAsn.prototype, 'tbs');
AsnProp({ type: AlgorithmIdentifier })(CaRequestAsn.prototype, 'sigAlg');
AsnProp({ type: AsnPropTypes.OctetString })(CaRequestAsn.prototype, 'signature');

export { KM_PROTOCOL_VERSION };

/** The DER of the KSRequest, i.e. exactly the bytes the CARequest signature covers. */
export function encodeKsRequest(request: KsRequest): Uint8Array {
  if (request.requests.length === 0) invalid('a KSRequest carries at least one request');
  const asn = new KsRequestAsn();
  asn.version = smallUintToInteger(KM_PROTOCOL_VERSION, 'version');
  asn.caName = entName(request.caName);
  asn.requestList = request.requests.map(requestAsn);
  asn.requestTime = timeToDer(request.requestTime);
  asn.taskNO = taskNoToInteger(request.taskNo);
  return new Uint8Array(AsnSerializer.serialize(asn));
}

/** CARequest DER: the KSRequest signed SM2-with-SM3 by the caller's key. */
export async function signCaRequest(request: KsRequest, signer: Signer): Promise<Uint8Array> {
  return signKmMessage(encodeKsRequest(request), signer);
}

/**
 * Reads a CARequest. `tbs` is the KSRequest exactly as received, for verifying `signature`
 * (SM2-with-SM3 DER). Anything malformed throws PkiError(KM_MESSAGE_MALFORMED).
 */
export function decodeCaRequest(der: Uint8Array): {
  request: KsRequest;
  tbs: Uint8Array;
  signature: Uint8Array;
} {
  const { message, tbs, signature } = decodeSignedKmMessage('CARequest', der, CaRequestAsn, (ks) => {
    if (ks.requestList.length === 0) throw new Error('empty requestList');
    return {
      caName: entNameText(ks.caName),
      requests: ks.requestList.map(requestItem),
      requestTime: timeFromDer(ks.requestTime),
      taskNo: taskNoFromInteger(ks.taskNO),
    };
  });
  return { request: message, tbs, signature };
}

function algorithm(oid: string): AlgorithmIdentifier {
  return new AlgorithmIdentifier({ algorithm: oid });
}

function requestAsn(item: KmRequestItem): RequestAsn {
  const out = new RequestAsn();
  switch (item.kind) {
    case 'applyKey': {
      const a = item.algorithms ?? KM_DEFAULT_ALGORITHMS;
      const req = new ApplyKeyReqAsn();
      req.appKeyType = algorithm(a.appKeyType);
      req.appKeyLen = smallUintToInteger(a.appKeyLength, 'appKeyLength');
      req.retAsymAlg = algorithm(a.retAsymAlg);
      req.retSymAlg = algorithm(a.retSymAlg);
      req.retHashAlg = algorithm(a.retHashAlg);
      req.appUserInfo.userCertNo = certNoToInteger(item.userCertNo);
      req.appUserInfo.userPubKey = spkiBytes(item.userPublicKey, 'userPublicKey');
      req.appUserInfo.notBefore = timeToDer(item.notBefore);
      req.appUserInfo.notAfter = timeToDer(item.notAfter);
      out.applyKeyReq = req;
      return out;
    }
    case 'restoreKey': {
      const a = item.algorithms ?? KM_DEFAULT_ALGORITHMS;
      const req = new RestoreKeyReqAsn();
      req.retAsymAlg = algorithm(a.retAsymAlg);
      req.retSymAlg = algorithm(a.retSymAlg);
      req.retHashAlg = algorithm(a.retHashAlg);
      req.userCertNo = certNoToInteger(item.userCertNo);
      req.userPubKey = spkiBytes(item.userPublicKey, 'userPublicKey');
      out.restoreKeyReq = req;
      return out;
    }
    case 'revokeKey': {
      const req = new RevokeKeyReqAsn();
      req.userCertNo = certNoToInteger(item.userCertNo);
      out.revokeKeyReq = req;
      return out;
    }
  }
}

function requestItem(asn: RequestAsn): KmRequestItem {
  if (asn.applyKeyReq) {
    const req = asn.applyKeyReq;
    const info = req.appUserInfo;
    return {
      kind: 'applyKey',
      userCertNo: certNoFromInteger(info.userCertNo),
      userPublicKey: checkedSpki(info.userPubKey),
      notBefore: timeFromDer(info.notBefore),
      notAfter: timeFromDer(info.notAfter),
      algorithms: {
        appKeyType: req.appKeyType.algorithm,
        appKeyLength: smallUintFromInteger(req.appKeyLen),
        retAsymAlg: req.retAsymAlg.algorithm,
        retSymAlg: req.retSymAlg.algorithm,
        retHashAlg: req.retHashAlg.algorithm,
      },
    };
  }
  if (asn.restoreKeyReq) {
    const req = asn.restoreKeyReq;
    return {
      kind: 'restoreKey',
      userCertNo: certNoFromInteger(req.userCertNo),
      userPublicKey: checkedSpki(req.userPubKey),
      algorithms: {
        retAsymAlg: req.retAsymAlg.algorithm,
        retSymAlg: req.retSymAlg.algorithm,
        retHashAlg: req.retHashAlg.algorithm,
      },
    };
  }
  if (asn.revokeKeyReq)
    return { kind: 'revokeKey', userCertNo: certNoFromInteger(asn.revokeKeyReq.userCertNo) };
  throw new Error('Request of no known kind');
}
