import { Type } from '@sinclair/typebox';
import { withExample } from '@sm2ca/platform';

const binary = (description: string) => Type.String({ format: 'binary', description });

/** The shape of a request, for the document only; the examples are a real revokeKey request and its answer, base64. */
export const caRequestBody = withExample(
  binary(
    'DER CARequest (GM/T 0014): SEQUENCE { tbsRequest KSRequest { version, caName, requestList SEQUENCE OF ' +
      'Request CHOICE { [0] ApplyKeyReq, [1] RestoreKeyReq, [2] RevokeKeyReq }, requestTime, taskNO }, ' +
      'signatureAlgorithm sm2-with-SM3, signature }, signed by a current ca-km certificate (applyKey, ' +
      'revokeKey) or ra certificate (restoreKey). The example shows it in base64',
  ),
  'MIHDMG0CAQEwIzAKBggqgRzPVQGDEaQQMA4xDDAKBgNVBAMMA3N1YgQAAgEAMAyiCgIITS8aDJuOfWEYDzIwMjYxMjAyMTQ1NDE1WgIk' +
    'OGMxZDJlM2YtNGE1Yi00YzZkLThlN2YtOWEwYjFjMmQzZTRmMAoGCCqBHM9VAYN1BEYwRAIgNUG9wsyZXibuXNjxHc21yTXf1Yk6X3Cw' +
    'NVlKIjCOBYUCIHaDlVAIe0KmB/rG691mIo+huh3MFMQwW8LUZYWHk16N',
);

export const kmRespondBody = withExample(
  binary(
    'DER KMRespond (GM/T 0014): SEQUENCE { tbsRespond KSRespond { version, kmName, respondList SEQUENCE OF ' +
      'Respond CHOICE { [0] RetKeyRespond, [1] RetKeyRespond, [2] RevokeKeyRespond, [3] ErrorPkgRespond }, ' +
      'respondTime, taskNO }, signatureAlgorithm, signature }, signed by the KM certificate. The example ' +
      'shows it in base64',
  ),
  'MIHDMGwCAQEwIjAKBggqgRzPVQGDEaQPMA0xCzAJBgNVBAMMAmttBAACAQAwDKIKAghNLxoMm459YRgPMjAyNjEyMDIxNDU0MTVaAiQ4' +
    'YzFkMmUzZi00YTViLTRjNmQtOGU3Zi05YTBiMWMyZDNlNGYwCgYIKoEcz1UBg3UERzBFAiEAl0mTS8EBOF11TAyXDyBvCGaRyn2hjF83' +
    'RxOx6qnrvTkCIHroCkZeQ7KTYT/cKvd6wQQUi2iUmk/kgU0kxA3c64cX',
);

export const refusalHeaders = {
  'x-sm2ca-error-code': {
    type: 'string',
    description: 'the refusal code, also at the front of the ErrorPkgRespond errDesc',
  },
};
