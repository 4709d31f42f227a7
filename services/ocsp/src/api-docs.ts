import { Type } from '@sinclair/typebox';
import { withExample } from '@sm2ca/platform';

/**
 * A real OCSPRequest (SHA-1 CertID, no nonce) as the OpenAPI document shows it: base64 in the
 * POST example, URL-encoded base64 in the GET path.
 */
const request =
  'MFEwTzBNMEswSTAJBgUrDgMCGgUABBTS8Q3hrJ6ui5yPlgJ9cSgcDJbMhgQUfBzvU31SNI2RmsnyUu5pPRGAm7ACEAR0hqwwsBiLKchaYTILZ8s=';

export const requestBody = withExample(
  Type.String({
    format: 'binary',
    description: 'DER OCSPRequest (RFC 6960 4.1.1); the example shows it in base64',
  }),
  request,
);

export const requestPathParams = Type.Object({
  '*': Type.String({
    description: 'the DER OCSPRequest, base64 then URL-encoded',
    examples: [encodeURIComponent(request)],
  }),
});
