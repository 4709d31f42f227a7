import { refuseKeyReuse } from '@sm2ca/platform';
import type { Pool } from '@sm2ca/store';
import { encryptionProfileFor } from './encryption-profiles.ts';
import { csrKeyBinding, verifiedCsr } from './holder-csr.ts';
import { type Holder, type HolderType, type VettedHolder, vetHolder } from './holder-identity.ts';

export interface EntryInput {
  holderType: HolderType;
  profile: string;
  holder: Holder;
  csr: string;
  dual: boolean;
}

export interface VettedEntry {
  vetted: VettedHolder;
  csr: Uint8Array;
}

/**
 * The checks an application passes before it is entered, alone or as a batch row: holder
 * identity (check digits), profile, proof of possession, and a key never certified before.
 */
export async function vetEntry(
  pool: Pool,
  allowHolderEncryptionKeys: boolean,
  input: EntryInput,
): Promise<VettedEntry> {
  const vetted = vetHolder(input.holderType, input.profile, input.holder);
  encryptionProfileFor(vetted.profile.id, input.dual, allowHolderEncryptionKeys);
  const csr = await verifiedCsr(input.csr);
  // Told at entry rather than at issuance, so the holder brings a new key pair while still at the desk.
  await refuseKeyReuse(pool, csrKeyBinding(csr, vetted.holderKey, vetted.profile.id));
  return { vetted, csr };
}
