import { type KeyPurpose, keyPurposeOf, type ProfileId, spkiSha256 } from '@sm2ca/pki';
import type { Pool, PoolClient } from '@sm2ca/store';
import { AppError } from './app-error.ts';

/** A public key tied to one holder and one purpose (the certified_keys table). */
export interface KeyBinding {
  spkiSha256: Buffer;
  /** The RA's holder key; the subject name when an instruction carries none. */
  holder: string;
  purpose: KeyPurpose;
}

export function keyBindingOf(publicKey: Uint8Array, holder: string, profile: ProfileId): KeyBinding {
  return { spkiSha256: spkiSha256(publicKey), holder, purpose: keyPurposeOf(profile) };
}

/**
 * The refusal of a key already certified to another holder or for the other purpose, as CAs
 * refuse key reuse. Another holder's identity stays out of the answer: it is theirs, not the
 * applicant's.
 */
export function keyReused(binding: KeyBinding, certified: { holder: string; purpose: string }): AppError {
  const otherHolder = certified.holder !== binding.holder;
  return new AppError(
    'KEY_REUSED',
    otherHolder
      ? 'this public key is already certified to another holder; the holder needs a new key pair'
      : `this public key is already certified for ${certified.purpose}; a ${binding.purpose} certificate needs its own key pair`,
    409,
    {
      reason: otherHolder ? 'another-holder' : 'another-purpose',
      certifiedPurpose: certified.purpose,
      requestedPurpose: binding.purpose,
    },
  );
}

interface CertifiedKeyRow {
  holder: string | null;
  purpose: string;
  compromised_at: Date | null;
}

function refusalOf(binding: KeyBinding, found: CertifiedKeyRow): AppError | undefined {
  if (found.compromised_at) {
    return new AppError(
      'KEY_COMPROMISED',
      'a certificate of this public key was revoked because the key was compromised; the holder needs a new key pair',
      409,
      { compromisedAt: found.compromised_at.toISOString() },
    );
  }
  const certified = found.holder === null ? undefined : (found as { holder: string; purpose: string });
  if (certified && (certified.holder !== binding.holder || certified.purpose !== binding.purpose)) {
    return keyReused(binding, certified);
  }
  return undefined;
}

/**
 * Throws KEY_REUSED when the key is certified to someone or something else, KEY_COMPROMISED when
 * a certificate of it was revoked for keyCompromise. The same holder certifying the same key for
 * the same purpose again is a renewal and passes.
 */
export async function refuseKeyReuse(db: Pool | PoolClient, binding: KeyBinding): Promise<void> {
  const { rows } = await db.query({
    name: 'certified-key',
    text: `SELECT k.holder, k.purpose, x.compromised_at
             FROM (SELECT $1::bytea AS spki_sha256) q
             LEFT JOIN certified_keys k USING (spki_sha256)
             LEFT JOIN compromised_keys x USING (spki_sha256)`,
    values: [binding.spkiSha256],
  });
  const refusal = refusalOf(binding, rows[0] as CertifiedKeyRow);
  if (refusal) throw refusal;
}

/**
 * refuseKeyReuse for many keys in one query, as a batch of thousands checks its rows: each
 * binding's refusal in order, undefined where the key may be certified.
 */
export async function keyReuseRefusals(
  db: Pool | PoolClient,
  bindings: readonly KeyBinding[],
): Promise<(AppError | undefined)[]> {
  if (bindings.length === 0) return [];
  const { rows } = await db.query({
    name: 'certified-keys',
    text: `SELECT k.holder, k.purpose, x.compromised_at
             FROM unnest($1::bytea[]) WITH ORDINALITY q(spki_sha256, n)
             LEFT JOIN certified_keys k USING (spki_sha256)
             LEFT JOIN compromised_keys x USING (spki_sha256)
            ORDER BY q.n`,
    values: [bindings.map((b) => b.spkiSha256)],
  });
  return bindings.map((binding, i) => refusalOf(binding, rows[i] as CertifiedKeyRow));
}
