import { type KeyBinding, refuseKeyReuse } from '@sm2ca/platform';
import {
  type ApprovedTemplate,
  refuseOtherKind,
  refuseOutsideTemplate,
  templateForApplication,
} from './certificate-templates.ts';
import { encryptionProfileFor, encryptionTemplateOf } from './encryption-profiles.ts';
import { csrKeyBinding, verifiedCsr } from './holder-csr.ts';
import { type Holder, type HolderType, type VettedHolder, vetHolder } from './holder-identity.ts';
import { operatorOfApplication } from './operator-certificates.ts';
import type { RaContext } from './ra-context.ts';

export interface EntryInput {
  holderType: HolderType;
  profile: string;
  holder: Holder;
  csr: string;
  dual: boolean;
  /** The template to issue under, of the profile's kind; absent: the profile's own. */
  template?: string;
  /** The template version to issue under; the newest approved one when absent. */
  templateVersion?: number;
  /** For an operator's own certificate only: the operator it is for. */
  operatorId?: string;
}

export interface VettedEntry {
  vetted: VettedHolder;
  csr: Uint8Array;
  template: ApprovedTemplate;
  /** A dual application's: the template version its encryption certificate is issued under. */
  encryptionTemplate?: ApprovedTemplate;
  operatorId: string | null;
  /** What certifying the request's key would bind it to, for the key reuse check. */
  key: KeyBinding;
}

export type EntryContext = Pick<RaContext, 'pool' | 'allowHolderEncryptionKeys' | 'csrVerifier'>;

export type TemplateLookup = (name: string, version: number | undefined) => Promise<ApprovedTemplate>;

/**
 * The checks an application passes before it is entered, alone or as a batch row: holder
 * identity (check digits), profile, an approved template the holder and subject fit, the operator an
 * operator certificate is for, proof of possession, and a key never certified before.
 */
export async function vetEntry(
  ctx: EntryContext,
  input: EntryInput,
  templateOf?: TemplateLookup,
): Promise<VettedEntry> {
  const entry = await vetEntryButKey(ctx, input, templateOf);
  // Told at entry rather than at issuance, so the holder brings a new key pair while still at the desk.
  await refuseKeyReuse(ctx.pool, entry.key);
  return entry;
}

/** All of vetEntry but the key reuse check, which a batch makes once for all its rows. */
export async function vetEntryButKey(
  ctx: EntryContext,
  input: EntryInput,
  templateOf: TemplateLookup = (name, version) => templateForApplication(ctx.pool, name, version),
): Promise<VettedEntry> {
  const vetted = vetHolder(input.holderType, input.profile, input.holder);
  encryptionProfileFor(vetted.profile.id, input.dual, ctx.allowHolderEncryptionKeys);
  const operatorId = await operatorOfApplication(ctx.pool, vetted.profile.id, input.operatorId);
  const template = await templateOf(input.template ?? vetted.profile.id, input.templateVersion);
  refuseOtherKind(template, vetted.profile.id);
  refuseOutsideTemplate(template, input.holderType, vetted.instruction.subject);
  // The twin carries the same holder and subject, so it must fit its own template too.
  const encryptionTemplate = input.dual ? await encryptionTemplateOf(ctx.pool, template) : undefined;
  if (encryptionTemplate)
    refuseOutsideTemplate(encryptionTemplate, input.holderType, vetted.instruction.subject);
  const csr = await verifiedCsr(input.csr, ctx.csrVerifier);
  return {
    vetted,
    csr: csr.der,
    template,
    ...(encryptionTemplate ? { encryptionTemplate } : {}),
    operatorId,
    key: csrKeyBinding(csr, vetted.holderKey, vetted.profile.id),
  };
}
