import { refuseKeyReuse } from '@sm2ca/platform';
import type { Pool } from '@sm2ca/store';
import {
  type ApprovedTemplate,
  refuseOutsideTemplate,
  templateForApplication,
} from './certificate-templates.ts';
import { encryptionProfileFor } from './encryption-profiles.ts';
import { csrKeyBinding, verifiedCsr } from './holder-csr.ts';
import { type Holder, type HolderType, type VettedHolder, vetHolder } from './holder-identity.ts';
import { operatorOfApplication } from './operator-certificates.ts';

export interface EntryInput {
  holderType: HolderType;
  profile: string;
  holder: Holder;
  csr: string;
  dual: boolean;
  /** The template version to issue under; the newest approved one when absent. */
  templateVersion?: number;
  /** For an operator's own certificate only: the operator it is for. */
  operatorId?: string;
}

export interface VettedEntry {
  vetted: VettedHolder;
  csr: Uint8Array;
  template: ApprovedTemplate;
  operatorId: string | null;
}

/**
 * The checks an application passes before it is entered, alone or as a batch row: holder
 * identity (check digits), profile, an approved template the holder and subject fit, the operator an
 * operator certificate is for, proof of possession, and a key never certified before.
 */
export type TemplateLookup = (profile: string, version: number | undefined) => Promise<ApprovedTemplate>;

export async function vetEntry(
  pool: Pool,
  allowHolderEncryptionKeys: boolean,
  input: EntryInput,
  templateOf: TemplateLookup = (profile, version) => templateForApplication(pool, profile, version),
): Promise<VettedEntry> {
  const vetted = vetHolder(input.holderType, input.profile, input.holder);
  encryptionProfileFor(vetted.profile.id, input.dual, allowHolderEncryptionKeys);
  const operatorId = await operatorOfApplication(pool, vetted.profile.id, input.operatorId);
  const template = await templateOf(vetted.profile.id, input.templateVersion);
  refuseOutsideTemplate(template, input.holderType, vetted.instruction.subject);
  const csr = await verifiedCsr(input.csr);
  // Told at entry rather than at issuance, so the holder brings a new key pair while still at the desk.
  await refuseKeyReuse(pool, csrKeyBinding(csr, vetted.holderKey, vetted.profile.id));
  return { vetted, csr, template, operatorId };
}
