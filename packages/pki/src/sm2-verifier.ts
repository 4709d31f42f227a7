import { GmError, verifySm2 } from '@sm2ca/gm';
import type { Verifier } from './signer.ts';

/**
 * Public-key-only Verifier under the GM default signer ID, for where no device is at hand
 * (CLI, relying-party checks, tests). A key that is not an SM2 key verifies nothing.
 */
export const sm2Verifier: Verifier = {
  async verify(spki, data, signature) {
    try {
      return verifySm2(spki, data, signature);
    } catch (err) {
      if (err instanceof GmError) return false;
      throw err;
    }
  },
};
