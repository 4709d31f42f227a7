import type { SecretKeyAttributes } from '@sm2ca/device';
import { describe, expect, it } from 'vitest';
import { masterKeyRefusal } from './master-key.ts';

const made: SecretKeyAttributes = {
  expectedType: true,
  sensitive: true,
  alwaysSensitive: true,
  extractable: false,
  neverExtractable: true,
  local: true,
  encrypt: false,
  decrypt: false,
  wrap: true,
  unwrap: true,
};
const found = (secretKey: Partial<SecretKeyAttributes>) => ({
  secretKeys: 1,
  otherObjects: 0,
  secretKey: { ...made, ...secretKey },
});

describe('the KM master key found in the device', () => {
  it('is used when it is what `sm2ca km master-key` makes', () => {
    expect(masterKeyRefusal(found({}))).toEqual([]);
  });

  it('is refused, with every reason, when it was planted or exposed', () => {
    expect(masterKeyRefusal(found({ extractable: true, neverExtractable: false }))).toEqual([
      'it is or was extractable',
    ]);
    expect(masterKeyRefusal(found({ sensitive: false, alwaysSensitive: false, local: false }))).toEqual([
      'it is or was readable (not always sensitive)',
      'it was not generated inside the device',
    ]);
    expect(masterKeyRefusal(found({ decrypt: true }))).toEqual([
      'it can encrypt or decrypt data, not only wrap and unwrap keys',
    ]);
    expect(masterKeyRefusal(found({ expectedType: false, unwrap: false }))).toEqual([
      "it is not the device's symmetric (SM4) key type",
      'it cannot both wrap and unwrap',
    ]);
  });

  it('is refused when the label holds two keys or a key pair', () => {
    expect(masterKeyRefusal({ secretKeys: 2, otherObjects: 0, secretKey: made })).toHaveLength(1);
    expect(masterKeyRefusal({ secretKeys: 0, otherObjects: 2 })).toHaveLength(1);
  });
});
