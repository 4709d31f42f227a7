import type { Device } from '@sm2ca/device';
import {
  assembleCertificate,
  buildTbsCertificate,
  type DnAttribute,
  getProfile,
  type IdentityInfo,
  lintTbs,
  type ProfileId,
  parseCsr,
  parseTbsCertificate,
  verifyCsr,
} from '@sm2ca/pki';
import { AppError, type KeyBinding, keyBindingOf, refuseKeyReuse } from '@sm2ca/platform';
import type { Pool } from '@sm2ca/store';
import { statusEventSql } from './certificate-events.ts';
import type { IssueInstruction } from './issue-instruction.ts';
import { chainOf, type Issuer, requireUsableIssuer } from './issuers.ts';
import { findInstruction, instructionDigest } from './request-ledger.ts';

export interface IssueResult {
  issuerId: string;
  serial: string;
  /** base64 DER */
  certificate: string;
  /** base64 DER, the issuing CA first and the root last */
  chain: string[];
}

export interface IssuanceContext {
  pool: Pool;
  device: Device;
  issuers: Map<string, Issuer>;
  /** The CA that signs end-entity certificates. */
  issuingCa: Issuer;
  urls: { crl: string; ocsp: string; caCertificate: string };
}

/** End-entity profiles the RA may ask for; CA, OCSP and RA certificates come only from the key ceremony. */
export const requestableProfileIds: readonly ProfileId[] = [
  'person-sign',
  'person-encrypt',
  'organization-sign',
  'organization-encrypt',
  'device-sign',
  'device-encrypt',
  'tls-server',
  'tls-device',
];
const requestableProfiles = new Set(requestableProfileIds);

const DAY_MS = 86_400_000;

function identityInfo(identity: IssueInstruction['identity']): IdentityInfo | undefined {
  if (!identity) return undefined;
  const info: IdentityInfo = {};
  if (identity.residentId) info.identifyCode = { type: 'residentCard', value: identity.residentId };
  else if (identity.passportNumber) info.identifyCode = { type: 'passport', value: identity.passportNumber };
  else if (identity.militaryOfficerCardNumber) {
    info.identifyCode = { type: 'militaryOfficerCard', value: identity.militaryOfficerCardNumber };
  }
  if (identity.insuranceNumber) info.insuranceNumber = identity.insuranceNumber;
  if (identity.icRegistrationNumber) info.icRegistrationNumber = identity.icRegistrationNumber;
  if (identity.organizationCode) info.organizationCode = identity.organizationCode;
  if (identity.taxationNumber) info.taxationNumber = identity.taxationNumber;
  if (identity.unifiedSocialCreditCode) info.unifiedSocialCreditCode = identity.unifiedSocialCreditCode;
  return info;
}

/** The TBSCertificate for an instruction: profile, holder key from the verified CSR, linted. */
async function planCertificate(context: IssuanceContext, instruction: IssueInstruction) {
  if (!requestableProfiles.has(instruction.profile as ProfileId)) {
    throw new AppError(
      'PROFILE_NOT_REQUESTABLE',
      `profile "${instruction.profile}" cannot be requested`,
      400,
    );
  }
  const profile = getProfile(instruction.profile as ProfileId);
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
  const identity = identityInfo(instruction.identity);
  const tbs = buildTbsCertificate({
    profile,
    subject: instruction.subject as DnAttribute[],
    publicKey: csr.publicKey,
    issuer: context.issuingCa.certificate,
    notBefore,
    notAfter,
    crlDistributionPoints: [context.urls.crl],
    ocspUrls: [context.urls.ocsp],
    caIssuersUrls: [context.urls.caCertificate],
    ...(identity ? { identity } : {}),
    ...(instruction.subjectAltNames ? { subjectAltName: instruction.subjectAltNames } : {}),
  });
  const parsed = parseTbsCertificate(tbs);
  const errors = lintTbs(parsed, { profile, issuer: context.issuingCa.certificate }).filter(
    (f) => f.severity === 'error',
  );
  if (errors.length > 0) {
    throw new AppError(
      'CERTIFICATE_LINT_FAILED',
      `the certificate would break its profile: ${errors[0]!.message}`,
      422,
      {
        findings: errors,
      },
    );
  }
  const holder = instruction.holderKey ?? `subject:${subjectText(instruction)}`;
  return { tbs, parsed, binding: keyBindingOf(csr.publicKey, holder, profile.id) };
}

/** The subject as the certificates table keeps it. */
function subjectText(instruction: IssueInstruction): string {
  return instruction.subject.map((a) => `${a.type}=${a.value}`).join(', ');
}

/**
 * Issues a certificate for an RA instruction. The planned certificate (serial
 * and TBS) is committed before the CA key signs, and the signed one is stored
 * only if it is still planned: a crash anywhere leaves either nothing, a
 * planned certificate that the same request id finishes, or the issued one.
 * The same request id always returns the same certificate.
 */
export async function issueCertificate(
  context: IssuanceContext,
  instruction: IssueInstruction,
): Promise<IssueResult> {
  const digest = instructionDigest(instruction as unknown as Record<string, unknown>);
  // Nearly every instruction is new, so the plan is recorded without reading the ledger first:
  // its primary key catches a retry or a concurrent twin, and only then is the ledger read.
  let plan: Awaited<ReturnType<typeof planCertificate>>;
  try {
    plan = await planCertificate(context, instruction);
  } catch (err) {
    return finishKnown(context, instruction, digest, err);
  }
  const issuerId = context.issuingCa.id;
  const serial = Buffer.from(plan.parsed.serialNumber).toString('hex');
  // One statement is one transaction: the key's binding, the ledger row and the planned
  // certificate commit together. The binding comes first and the rest hangs off it: a key
  // bound to another holder or purpose (the conflict's row lock makes a concurrent claim wait
  // for the first to commit) or a request id already in the ledger writes nothing at all.
  let recorded: { rowCount: number | null };
  try {
    recorded = await context.pool.query({
      name: 'ca-plan-certificate',
      text: `WITH binding AS (
               INSERT INTO certified_keys (spki_sha256, holder, purpose, first_issuer_id, first_serial)
               SELECT $11, $12, $13, $1, $2
                WHERE NOT EXISTS (SELECT FROM ca_requests WHERE request_id = $8)
               ON CONFLICT (spki_sha256) DO UPDATE SET holder = EXCLUDED.holder
                WHERE certified_keys.holder = EXCLUDED.holder AND certified_keys.purpose = EXCLUDED.purpose
               RETURNING spki_sha256
             ), ledger AS (
               INSERT INTO ca_requests (request_id, operation, body_digest, issuer_id, serial)
               SELECT $8, 'issue', $10, $1, $2 FROM binding ON CONFLICT (request_id) DO NOTHING RETURNING request_id
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
  return signAndStore(context, instruction, digest, issuerId, serial, plan.tbs);
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
    if (binding) await refuseKeyReuse(context.pool, binding);
    // The twin that held the id rolled back after all: plan again.
    return issueCertificate(context, instruction);
  }
  if (known.response) return known.response as IssueResult;
  const { issuerId, serial } = known as { issuerId: string; serial: string };
  const { rows } = await context.pool.query(
    'SELECT tbs FROM certificates WHERE issuer_id = $1 AND serial = $2',
    [issuerId, serial],
  );
  return signAndStore(context, instruction, digest, issuerId, serial, new Uint8Array(rows[0].tbs));
}

/**
 * Signs a planned certificate and stores it, unless a twin stored it first. The issuer is
 * checked here, right before its key signs, so a retry cannot sign under a CA revoked since.
 */
async function signAndStore(
  context: IssuanceContext,
  instruction: IssueInstruction,
  digest: Buffer,
  issuerId: string,
  serial: string,
  tbs: Uint8Array,
): Promise<IssueResult> {
  await requireUsableIssuer(context.pool, context.issuers, issuerId);
  const signature = await context.device.sign(context.issuers.get(issuerId)!.keyLabel, tbs);
  const certificate = assembleCertificate(tbs, signature);
  const result: IssueResult = {
    issuerId,
    serial,
    certificate: Buffer.from(certificate).toString('base64'),
    chain: chainOf(context.issuers, issuerId).map((der) => Buffer.from(der).toString('base64')),
  };
  // The whole store step is one statement, hence one transaction: every part
  // after the UPDATE hangs off its RETURNING, so a certificate that is no longer
  // planned (a twin stored it first) changes nothing and writes no audit record.
  const stored = await context.pool.query({
    name: 'ca-store-certificate',
    text: `WITH stored AS (
             UPDATE certificates SET status = 'good', der = $3, issued_at = now()
              WHERE issuer_id = $1 AND serial = $2 AND status = 'planned'
              RETURNING issuer_id, serial
           ), ledger AS (
             UPDATE ca_requests SET response = $4 WHERE request_id = $5 AND EXISTS (SELECT FROM stored)
           ), ${statusEventSql('stored', "'good'")}, audit AS (
             INSERT INTO audit_log (actor, actor_role, action, subject_type, subject_id, after)
             SELECT 'ra', 'ra_instruction', 'certificate.issue', 'certificate', issuer_id || '/' || serial, $6::jsonb
               FROM stored
           )
           SELECT FROM notified`,
    values: [
      issuerId,
      serial,
      certificate,
      JSON.stringify(result),
      instruction.requestId,
      JSON.stringify({ profile: instruction.profile, requestId: instruction.requestId }),
    ],
  });
  if (stored.rowCount === 0) {
    const done = await findInstruction(context.pool, instruction.requestId, digest, { lock: false });
    return done!.response as IssueResult;
  }
  return result;
}
