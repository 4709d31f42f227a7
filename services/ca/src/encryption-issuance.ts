import { decodeSm2Spki, encodeSm2Spki } from '@sm2ca/gm';
import { parseCsr, planTbsCertificate, randomSerialNumber } from '@sm2ca/pki';
import { AppError, issuerUrls, keyBindingOf } from '@sm2ca/platform';
import { holderFields, holderOf, lintedTbs, subjectText } from './certificate-fields.ts';
import type { IssuanceContext, IssueResult } from './issuance.ts';
import type { IssueInstruction } from './issue-instruction.ts';
import { signPlanned, storeIssued } from './issued-certificate.ts';
import { templateOfKind } from './issuing-templates.ts';
import { findInstruction } from './request-ledger.ts';

/** The encryption certificate's number and validity, fixed before the KM is asked for its key. */
export interface KeyApplication {
  issuerId: string;
  serial: string;
  notBefore: Date;
  notAfter: Date;
  /** The KM's answer, once it was recorded with the planned certificate. */
  envelopedKey: Buffer | null;
  /** The holder's signature key (04‖X‖Y) from the CSR verified in this call, not parsed again. */
  holderPublicKey?: Uint8Array;
}

/**
 * The encryption twin of a signature certificate just issued: the KM generates and escrows
 * the key, the CA certifies it with the signature certificate's subject, identity and
 * validity. Every step is one statement and a retry of the request id picks up where the
 * last attempt stopped: the serial is planned before the KM is asked, so the KM (idempotent
 * on CA, certificate number and task) answers a retry with the same key; the certificate is
 * planned, with the KM's envelope for the holder, before the CA key signs; and the answer,
 * both certificates and the envelope, goes into the ledger with the signed certificate.
 */
export async function issueEncryptionCertificate(
  context: IssuanceContext,
  instruction: IssueInstruction,
  digest: Buffer,
  signature: IssueResult,
  plannedNow?: KeyApplication,
): Promise<IssueResult> {
  const application = plannedNow ?? (await applicationOf(context, instruction, signature));
  if (!application.envelopedKey) {
    const tbs = await applyForKey(context, instruction, application);
    // Planned by this call's own statement: signed without reading it back.
    if (tbs) return signAndStore(context, instruction, digest, signature, { ...application, tbs });
  }
  const { rows } = await context.pool.query(
    `SELECT k.enveloped_key, c.tbs, c.der
       FROM km_certificates k JOIN certificates c ON c.issuer_id = k.issuer_id AND c.serial = k.serial
      WHERE k.request_id = $1`,
    [instruction.requestId],
  );
  const planned = rows[0];
  if (!planned) {
    // The key's binding refused it: the KM handed out a key the CA already certified.
    throw new AppError('KM_KEY_REUSED', 'the KM answered with a key already certified', 502);
  }
  if (planned.der) return doneAnswer(context, instruction, digest);
  return signAndStore(context, instruction, digest, signature, {
    ...application,
    envelopedKey: planned.enveloped_key,
    tbs: new Uint8Array(planned.tbs),
  });
}

/** The serial and validity planned for this request id, planned now if it has none yet. */
async function applicationOf(
  context: IssuanceContext,
  instruction: IssueInstruction,
  signature: IssueResult,
): Promise<KeyApplication> {
  const plan = () =>
    context.pool.query(
      `WITH planned AS (
         INSERT INTO km_certificates (request_id, issuer_id, serial, profile, not_before, not_after)
         SELECT $1, issuer_id, $3, $4, not_before, not_after
           FROM certificates WHERE issuer_id = $2 AND serial = $5
         ON CONFLICT (request_id) DO NOTHING
         RETURNING issuer_id, serial, not_before, not_after, enveloped_key
       )
       SELECT * FROM planned
       UNION ALL
       SELECT issuer_id, serial, not_before, not_after, enveloped_key FROM km_certificates WHERE request_id = $1`,
      [
        instruction.requestId,
        signature.issuerId,
        Buffer.from(randomSerialNumber()).toString('hex'),
        instruction.encryption!.profile,
        signature.serial,
      ],
    );
  let { rows } = await plan();
  // A concurrent twin planned it after this statement's snapshot: it is there now.
  if (rows.length === 0) ({ rows } = await plan());
  const row = rows[0];
  return {
    issuerId: row.issuer_id,
    serial: row.serial,
    notBefore: row.not_before,
    notAfter: row.not_after,
    envelopedKey: row.enveloped_key,
  };
}

/**
 * Asks the KM for the key and plans the certificate for it: the key's binding to the holder,
 * the KM's envelope and the planned certificate commit together, or not at all when a twin
 * got there first. KM_UNAVAILABLE (503) and KM_REFUSED (502) leave the serial planned for a retry.
 * The TBS when this call planned it (the application then holds the KM's envelope), else none.
 */
async function applyForKey(
  context: IssuanceContext,
  instruction: IssueInstruction,
  application: KeyApplication,
): Promise<Uint8Array | undefined> {
  const holderPublicKey =
    application.holderPublicKey ?? parseCsr(Buffer.from(instruction.csr, 'base64')).publicKey;
  const key = await context.km.applyKey(instruction.requestId, application.issuerId, {
    userCertNo: application.serial,
    userPublicKey: encodeSm2Spki(holderPublicKey),
    notBefore: application.notBefore,
    notAfter: application.notAfter,
  });
  const issuer = context.issuers.get(application.issuerId)!;
  const { profile } = await templateOfKind(context.templates, instruction.encryption!);
  const urls = issuerUrls(context.config, application.issuerId, issuer.certificate.subject);
  const publicKey = decodeSm2Spki(key.publicKey);
  const { tbs } = lintedTbs(
    planTbsCertificate({
      profile,
      ...holderFields(instruction),
      publicKey,
      issuer: issuer.certificate,
      serialNumber: Buffer.from(application.serial, 'hex'),
      notBefore: application.notBefore,
      notAfter: application.notAfter,
      crlDistributionPoints: urls.crlDistributionPoints,
      ocspUrls: [urls.ocsp],
      caIssuersUrls: [urls.caCertificate],
    }),
    profile,
    issuer.certificate,
  );
  const binding = keyBindingOf(publicKey, holderOf(instruction), profile.id);
  const planned = await context.pool.query({
    name: 'ca-plan-encryption-certificate',
    text: `WITH binding AS (
             INSERT INTO certified_keys (spki_sha256, holder, purpose, first_issuer_id, first_serial)
             VALUES ($9, $10, $11, $1, $2)
             ON CONFLICT (spki_sha256) DO UPDATE SET holder = EXCLUDED.holder
              WHERE certified_keys.holder = EXCLUDED.holder AND certified_keys.purpose = EXCLUDED.purpose
             RETURNING spki_sha256
           ), answered AS (
             UPDATE km_certificates SET enveloped_key = $12
              WHERE request_id = $7 AND enveloped_key IS NULL AND EXISTS (SELECT FROM binding)
              RETURNING request_id
           )
           INSERT INTO certificates (issuer_id, serial, status, profile, subject, tbs, not_before, not_after, request_id, holder_key)
           SELECT $1::text, $2::text, 'planned', $3::text, $4::text, $5::bytea, $6::timestamptz, $13::timestamptz, request_id, $8::text
             FROM answered
           RETURNING serial`,
    values: [
      application.issuerId,
      application.serial,
      profile.id,
      subjectText(instruction),
      tbs,
      application.notBefore,
      instruction.requestId,
      instruction.holderKey ?? null,
      binding.spkiSha256,
      binding.holder,
      binding.purpose,
      key.envelopedKey,
      application.notAfter,
    ],
  });
  if (planned.rowCount === 0) return undefined;
  application.envelopedKey = Buffer.from(key.envelopedKey);
  return tbs;
}

/** Signs the planned encryption certificate and stores it with the instruction's whole answer. */
async function signAndStore(
  context: IssuanceContext,
  instruction: IssueInstruction,
  digest: Buffer,
  signature: IssueResult,
  planned: KeyApplication & { tbs: Uint8Array },
): Promise<IssueResult> {
  const certificate = await signPlanned(context, planned.issuerId, planned.tbs);
  const result: IssueResult = {
    ...signature,
    encryption: {
      serial: planned.serial,
      certificate: Buffer.from(certificate).toString('base64'),
      envelopedKey: planned.envelopedKey!.toString('base64'),
    },
  };
  const stored = await storeIssued(context, {
    issuerId: planned.issuerId,
    serial: planned.serial,
    certificate,
    requestId: instruction.requestId,
    response: result,
    profile: instruction.encryption!.profile,
    audit: {
      profile: instruction.encryption!.profile,
      template: instruction.encryption!.template ?? instruction.encryption!.profile,
      templateVersion: instruction.encryption!.templateVersion ?? 1,
      requestId: instruction.requestId,
      keyEscrowedBy: 'km',
      signatureCertificate: `${signature.issuerId}/${signature.serial}`,
    },
  });
  if (!stored) return doneAnswer(context, instruction, digest);
  return result;
}

/** The answer a twin stored with the encryption certificate. */
async function doneAnswer(
  context: IssuanceContext,
  instruction: IssueInstruction,
  digest: Buffer,
): Promise<IssueResult> {
  const done = await findInstruction(context.pool, instruction.requestId, digest, { lock: false });
  return done!.response as IssueResult;
}
