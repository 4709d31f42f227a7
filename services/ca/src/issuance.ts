import type { Device } from '@sm2ca/device';
import {
  type DnAttribute,
  getProfile,
  type ProfileId,
  parseCsr,
  planTbsCertificate,
  randomSerialNumber,
  verifyCsr,
} from '@sm2ca/pki';
import {
  AppError,
  type Config,
  type Counter,
  type KeyBinding,
  type KmClient,
  keyBindingOf,
  refuseKeyReuse,
} from '@sm2ca/platform';
import type { Pool } from '@sm2ca/store';
import { holderFields, holderOf, lintedTbs, subjectText } from './certificate-fields.ts';
import { issueEncryptionCertificate, type KeyApplication } from './encryption-issuance.ts';
import type { IssueInstruction } from './issue-instruction.ts';
import { signPlanned, storeIssued } from './issued-certificate.ts';
import { chainOf, datedIssuerChain, type Issuer, requireUsableIssuer } from './issuers.ts';
import { type IssuingTemplates, templateOfKind } from './issuing-templates.ts';
import { findInstruction, instructionDigest } from './request-ledger.ts';

export interface IssueResult {
  issuerId: string;
  serial: string;
  /** base64 DER */
  certificate: string;
  /** base64 DER, the issuing CA first and the root last */
  chain: string[];
  /** A dual issue's encryption certificate, for a key the KM generated and escrows. */
  encryption?: EncryptionResult;
}

export interface EncryptionResult {
  serial: string;
  /** base64 DER */
  certificate: string;
  /** base64 SM2EnvelopedKey DER: the encryption private key, enveloped to the signature certificate's key */
  envelopedKey: string;
}

export interface IssuanceContext {
  pool: Pool;
  device: Device;
  issuers: Map<string, Issuer>;
  /** The CA that signs end-entity certificates. */
  issuingCa: Issuer;
  urls: { crlDistributionPoints: readonly string[]; ocsp: string; caCertificate: string };
  /** For the URLs of an issuer other than the issuing CA (a retry after a change of CA). */
  config: Config;
  /** Generates and escrows the keys of encryption certificates. */
  km: Pick<KmClient, 'applyKey'>;
  /** ca.allowHolderEncryptionKeys: an encryption certificate for a key the holder brought. */
  allowHolderEncryptionKeys: boolean;
  /** The approved template version an instruction names, read by the CA itself. */
  templates: IssuingTemplates;
  /** Counts each certificate when it is stored: a replayed instruction's answer is not counted again. */
  issued: Counter<'profile'>;
}

/** End-entity profiles the RA may ask for; CA, OCSP and RA certificates come only from the key ceremony. */
export const requestableProfileIds: readonly ProfileId[] = [
  'person-sign',
  'person-encrypt',
  'operator-sign',
  'organization-sign',
  'organization-encrypt',
  'device-sign',
  'device-encrypt',
  'tls-server',
  'tls-device',
];
const requestableProfiles = new Set(requestableProfileIds);

/** The encryption profile for each signature profile's kind of holder (TLCP servers are devices too). */
const encryptionProfileOf: Partial<Record<ProfileId, ProfileId>> = {
  'person-sign': 'person-encrypt',
  'organization-sign': 'organization-encrypt',
  'device-sign': 'device-encrypt',
  'tls-server': 'device-encrypt',
  'tls-device': 'device-encrypt',
};

/**
 * An encryption key pair is the KM's to generate and escrow, so that encrypted data can be
 * recovered: one the holder brought is refused unless the operator allowed it. A dual issue's
 * encryption profile must be for the signature profile's kind of holder.
 */
function refuseEncryptionRequest(context: IssuanceContext, instruction: IssueInstruction): void {
  const profile = instruction.profile as ProfileId;
  if (getProfile(profile).keyUsage.includes('keyEncipherment') && !context.allowHolderEncryptionKeys) {
    throw new AppError(
      'ENCRYPTION_KEY_NOT_FROM_KM',
      `a ${profile} certificate is issued only for a key the KM generates: ask for a signature certificate with encryption`,
      422,
    );
  }
  const wanted = instruction.encryption?.profile;
  if (wanted && encryptionProfileOf[profile] !== wanted) {
    throw new AppError(
      'ENCRYPTION_PROFILE_MISMATCH',
      `a ${profile} certificate has no ${wanted} twin${encryptionProfileOf[profile] ? `: its twin is ${encryptionProfileOf[profile]}` : ''}`,
      422,
    );
  }
}

const DAY_MS = 86_400_000;

/** The TBSCertificate for an instruction: profile, holder key from the verified CSR, linted. */
export async function planCertificate(context: IssuanceContext, instruction: IssueInstruction) {
  if (!requestableProfiles.has(instruction.profile as ProfileId)) {
    throw new AppError(
      'PROFILE_NOT_REQUESTABLE',
      `profile "${instruction.profile}" cannot be requested`,
      400,
    );
  }
  refuseEncryptionRequest(context, instruction);
  const template = await templateOfKind(context.templates, instruction);
  template.checkSubject(instruction.subject as DnAttribute[]);
  const { profile } = template;
  const csr = parseCsr(Buffer.from(instruction.csr, 'base64'));
  await verifyCsr(csr, context.device);
  const notBefore = new Date();
  const issuingCaEnd = context.issuingCa.certificate.notAfter.getTime();
  // A validity the RA asked for is kept or refused; the default, the profile's longest, ends with the
  // issuing CA when that comes first (SM2CA_ISSUING_CA_DAYS is often no longer than the profile allows).
  const notAfter =
    instruction.validityDays === undefined
      ? new Date(Math.min(notBefore.getTime() + profile.maxValidityDays * DAY_MS, issuingCaEnd))
      : new Date(notBefore.getTime() + Math.min(instruction.validityDays, profile.maxValidityDays) * DAY_MS);
  const fields = {
    ...holderFields(instruction),
    publicKey: csr.publicKey,
    issuer: context.issuingCa.certificate,
    notBefore,
    notAfter,
    crlDistributionPoints: context.urls.crlDistributionPoints,
    ocspUrls: [context.urls.ocsp],
    caIssuersUrls: [context.urls.caCertificate],
  };
  const parsed = lintedTbs(
    planTbsCertificate({ profile, ...fields }),
    profile,
    context.issuingCa.certificate,
  );
  const { tbs } = parsed;
  if (instruction.encryption) {
    // The twin's key comes from the KM later; whether the holder's fields fit its profile is
    // known now, before the signature certificate is issued without it.
    const twinTemplate = await templateOfKind(context.templates, instruction.encryption);
    twinTemplate.checkSubject(instruction.subject as DnAttribute[]);
    const twin = twinTemplate.profile;
    lintedTbs(planTbsCertificate({ profile: twin, ...fields }), twin, context.issuingCa.certificate);
  }
  return {
    tbs,
    parsed,
    publicKey: csr.publicKey,
    binding: keyBindingOf(csr.publicKey, holderOf(instruction), profile.id),
  };
}

/**
 * Issues a certificate for an RA instruction, and with `encryption` its encryption twin
 * for a key the KM generates. The planned certificate (serial and TBS) is committed before
 * the CA key signs, and the signed one is stored only if it is still planned: a crash
 * anywhere leaves either nothing, a planned certificate that the same request id finishes,
 * or the issued one. The same request id always returns the same answer.
 */
export async function issueCertificate(
  context: IssuanceContext,
  instruction: IssueInstruction,
): Promise<IssueResult> {
  const digest = instructionDigest(instruction as unknown as Record<string, unknown>);
  const planned: PlannedNow = {};
  const signature = await issueSignatureCertificate(context, instruction, digest, planned);
  if (!instruction.encryption || signature.encryption) return signature;
  return issueEncryptionCertificate(context, instruction, digest, signature, planned.encryption);
}

/** What this call's own plan statement committed: a retry or a twin's plan is read back instead. */
interface PlannedNow {
  /** The encryption certificate's serial and validity, planned with the signature certificate. */
  encryption?: KeyApplication;
}

/**
 * The instruction's own certificate, or its whole answer when the ledger already holds it.
 * A dual issue's answer is recorded only with its encryption certificate.
 */
async function issueSignatureCertificate(
  context: IssuanceContext,
  instruction: IssueInstruction,
  digest: Buffer,
  planned: PlannedNow,
): Promise<IssueResult> {
  // Nearly every instruction is new, so the plan is recorded without reading the ledger first:
  // its primary key catches a retry or a concurrent twin, and only then is the ledger read.
  const issuerId = context.issuingCa.id;
  let plan: Awaited<ReturnType<typeof planCertificate>>;
  let issuerChain: ReturnType<typeof datedIssuerChain>;
  try {
    plan = await planCertificate(context, instruction);
    issuerChain = datedIssuerChain(context.issuers, issuerId);
  } catch (err) {
    return finishKnown(context, instruction, digest, err);
  }
  const serial = Buffer.from(plan.parsed.serialNumber).toString('hex');
  // A dual issue's encryption serial and validity are planned in the same statement, so the
  // KM is asked for the same certificate number whatever instant a crash comes at.
  const encryptionSerial = instruction.encryption ? Buffer.from(randomSerialNumber()).toString('hex') : null;
  // One statement is one transaction: the key's binding, the ledger row and the planned
  // certificate commit together. The binding comes first and the rest hangs off it: a key
  // bound to another holder or purpose (the conflict's row lock makes a concurrent claim wait
  // for the first to commit), a request id already in the ledger, or an issuer chain not all
  // good (read here rather than in a round trip of its own before signing) writes nothing at all.
  let recorded: { rowCount: number | null };
  try {
    recorded = await context.pool.query({
      name: 'ca-plan-certificate',
      text: `WITH binding AS (
               INSERT INTO certified_keys (spki_sha256, holder, purpose, first_issuer_id, first_serial)
               SELECT $11, $12, $13, $1, $2
                WHERE NOT EXISTS (SELECT FROM ca_requests WHERE request_id = $8)
                  AND (SELECT count(*) FROM unnest($16::text[], $17::text[]) AS chain (issuer_id, serial)
                        WHERE (SELECT status FROM certificates c
                                WHERE c.issuer_id = chain.issuer_id AND c.serial = chain.serial) = 'good'
                      ) = cardinality($16::text[])
               ON CONFLICT (spki_sha256) DO UPDATE SET holder = EXCLUDED.holder
                WHERE certified_keys.holder = EXCLUDED.holder AND certified_keys.purpose = EXCLUDED.purpose
                  AND NOT EXISTS (SELECT FROM compromised_keys x WHERE x.spki_sha256 = EXCLUDED.spki_sha256)
               RETURNING spki_sha256
             ), ledger AS (
               INSERT INTO ca_requests (request_id, operation, body_digest, issuer_id, serial)
               SELECT $8, 'issue', $10, $1, $2 FROM binding ON CONFLICT (request_id) DO NOTHING RETURNING request_id
             ), encryption AS (
               INSERT INTO km_certificates (request_id, issuer_id, serial, profile, not_before, not_after)
               SELECT request_id, $1, $14, $15, $6, $7 FROM ledger WHERE $14::text IS NOT NULL
             )
             INSERT INTO certificates (issuer_id, serial, status, profile, subject, tbs, not_before, not_after, request_id, holder_key)
             SELECT $1::text, $2::text, 'planned', $3::text, $4::text, $5::bytea, $6::timestamptz, $7::timestamptz, request_id, $9::text
               FROM ledger`,
      values: [
        issuerId,
        serial,
        instruction.profile,
        subjectText(instruction),
        plan.tbs,
        plan.parsed.notBefore,
        plan.parsed.notAfter,
        instruction.requestId,
        instruction.holderKey ?? null,
        digest,
        plan.binding.spkiSha256,
        plan.binding.holder,
        plan.binding.purpose,
        encryptionSerial,
        instruction.encryption?.profile ?? null,
        issuerChain.filedUnder,
        issuerChain.serials,
      ],
    });
  } catch (err) {
    // A new key bound under a request id a twin took meanwhile for another instruction: the
    // binding's certificate never comes, and the ledger names the reuse.
    const { code, constraint } = err as { code?: string; constraint?: string };
    if (code === '23503' && constraint === 'certified_keys_first_issuer_id_first_serial_fkey') {
      return finishKnown(context, instruction, digest, undefined, plan.binding);
    }
    throw err;
  }
  if (recorded.rowCount === 0) return finishKnown(context, instruction, digest, undefined, plan.binding);
  if (encryptionSerial) {
    planned.encryption = {
      issuerId,
      serial: encryptionSerial,
      notBefore: plan.parsed.notBefore,
      notAfter: plan.parsed.notAfter,
      envelopedKey: null,
      holderPublicKey: plan.publicKey,
    };
  }
  return signAndStore(context, instruction, digest, issuerId, serial, plan.tbs, true);
}

/**
 * A request id the ledger already holds: its stored answer, or its planned certificate
 * signed now. A retry gets that certificate even when planning anew fails (`planError`),
 * say because the issuing CA is now too near its end for the requested validity. A new
 * request whose key was bound elsewhere (`binding`) is refused.
 */
async function finishKnown(
  context: IssuanceContext,
  instruction: IssueInstruction,
  digest: Buffer,
  planError?: unknown,
  binding?: KeyBinding,
): Promise<IssueResult> {
  const known = await findInstruction(context.pool, instruction.requestId, digest, { lock: false });
  if (!known) {
    if (planError) throw planError;
    if (binding) {
      await refuseKeyReuse(context.pool, binding);
      // Or the plan found the issuer chain not usable: say which certificate and why.
      await requireUsableIssuer(context.pool, context.issuers, context.issuingCa.id);
    }
    // The twin that held the id rolled back after all: plan again.
    return issueSignatureCertificate(context, instruction, digest, {});
  }
  if (known.response) return known.response as IssueResult;
  const { issuerId, serial } = known as { issuerId: string; serial: string };
  const { rows } = await context.pool.query(
    'SELECT tbs, der FROM certificates WHERE issuer_id = $1 AND serial = $2',
    [issuerId, serial],
  );
  // Stored, and the answer still open: a dual issue whose encryption certificate is to come.
  if (rows[0].der) return resultOf(context, issuerId, serial, new Uint8Array(rows[0].der));
  return signAndStore(context, instruction, digest, issuerId, serial, new Uint8Array(rows[0].tbs));
}

export function resultOf(
  context: IssuanceContext,
  issuerId: string,
  serial: string,
  certificate: Uint8Array,
): IssueResult {
  return {
    issuerId,
    serial,
    certificate: Buffer.from(certificate).toString('base64'),
    chain: chainOf(context.issuers, issuerId).map((der) => Buffer.from(der).toString('base64')),
  };
}

/** Signs a planned certificate and stores it, unless a twin stored it first. */
async function signAndStore(
  context: IssuanceContext,
  instruction: IssueInstruction,
  digest: Buffer,
  issuerId: string,
  serial: string,
  tbs: Uint8Array,
  issuerChecked = false,
): Promise<IssueResult> {
  const certificate = await signPlanned(context, issuerId, tbs, issuerChecked);
  const result = resultOf(context, issuerId, serial, certificate);
  const stored = await storeIssued(context, {
    issuerId,
    serial,
    certificate,
    requestId: instruction.requestId,
    // A dual issue's answer waits for its encryption certificate.
    response: instruction.encryption ? null : result,
    profile: instruction.profile,
    audit: {
      profile: instruction.profile,
      template: instruction.template ?? instruction.profile,
      templateVersion: instruction.templateVersion ?? 1,
      requestId: instruction.requestId,
    },
  });
  if (!stored) {
    const done = await findInstruction(context.pool, instruction.requestId, digest, { lock: false });
    return (done!.response as IssueResult | null) ?? finishKnown(context, instruction, digest);
  }
  return result;
}
