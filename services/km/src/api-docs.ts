import { Type } from '@sinclair/typebox';
import { withExample } from '@sm2ca/platform';

const binary = (description: string) => Type.String({ format: 'binary', description });

/** The shape of a request, for the document only; the examples are base64 of real DER. */
export const caRequestBody = withExample(
  binary(
    'DER CARequest (GM/T 0014): SEQUENCE { tbsRequest KSRequest { version, caName, requestList SEQUENCE OF ' +
      'Request CHOICE { [0] ApplyKeyReq, [1] RestoreKeyReq, [2] RevokeKeyReq }, requestTime, taskNO }, ' +
      'signatureAlgorithm sm2-with-SM3, signature }, signed by a current ca-km certificate (applyKey, ' +
      'revokeKey) or ra certificate (restoreKey). The example shows it in base64',
  ),
  'MIIBAjCBqAIBAAwDc3ViMIGH',
);

export const kmRespondBody = withExample(
  binary(
    'DER KMRespond (GM/T 0014): SEQUENCE { tbsRespond KSRespond { version, kmName, respondList SEQUENCE OF ' +
      'Respond CHOICE { [0] RetKeyRespond, [1] RetKeyRespond, [2] RevokeKeyRespond, [3] ErrorPkgRespond }, ' +
      'respondTime, taskNO }, signatureAlgorithm, signature }, signed by the KM certificate. The example ' +
      'shows it in base64',
  ),
  'MIIBBDCBqgIBAAwCa20wgY4=',
);

export const refusalHeaders = {
  'x-sm2ca-error-code': {
    description: 'the refusal code, also at the front of the ErrorPkgRespond errDesc',
    schema: { type: 'string' },
  },
};
