/** GM/T 0006 algorithm identifiers, plus the X9.62 key type that carries the SM2 curve in SPKIs. */
export const GM_OIDS = {
  sm2: '1.2.156.10197.1.301',
  sm2Sign: '1.2.156.10197.1.301.1',
  sm2KeyExchange: '1.2.156.10197.1.301.2',
  sm2Encrypt: '1.2.156.10197.1.301.3',
  sm3: '1.2.156.10197.1.401',
  hmacSm3: '1.2.156.10197.1.401.2',
  sm2WithSm3: '1.2.156.10197.1.501',
  sm4: '1.2.156.10197.1.104',
  sm4Ecb: '1.2.156.10197.1.104.1',
  sm4Cbc: '1.2.156.10197.1.104.2',
  sm4Gcm: '1.2.156.10197.1.104.8',
  ecPublicKey: '1.2.840.10045.2.1',
} as const;
