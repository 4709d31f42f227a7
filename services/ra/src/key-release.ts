import { publicKeyOfSpki } from '@sm2ca/pki';
import { AppError, type KmClient } from '@sm2ca/platform';
import type { Pool } from '@sm2ca/store';
import {
  type CertificateRef,
  certificateSpki,
  signatureCertificateProblem,
} from './recovery-certificates.ts';

/** What the RA asks of KM: the escrowed key, enveloped to a recipient key. */
export type KeyRestorer = Pick<KmClient, 'restoreKey'>;

export interface ReleaseRequest {
  /** Fixed when the recovery is approved, so a retry is the same request to KM. */
  taskNo: string;
  /** The encryption certificate: its issuer is KM's caName, its serial KM's userCertNo. */
  encryption: CertificateRef;
  /** The signature certificate whose key opens the envelope. */
  recipient: CertificateRef;
}

export type ReleaseOutcome =
  | { released: { publicKey: Buffer; envelopedKey: Buffer } }
  | { failed: { code: string; message: string; kmCode?: string } };

/** Refusals another attempt with the same task number may get past; any other ends the recovery. */
const passingKmCodes = new Set(['TOO_MANY_REQUESTS', 'INTERNAL', 'STALE']);

/**
 * One attempt at KM. An unreachable KM or a passing refusal is thrown, for the caller to leave
 * the recovery approved and retry later; a lasting refusal, a key that is not the one the
 * certificate certifies, or a recipient certificate revoked since the approval comes back as a
 * failure to record (a new request names the recipient afresh).
 */
export async function releaseFromKm(
  pool: Pool,
  km: KeyRestorer,
  request: ReleaseRequest,
): Promise<ReleaseOutcome> {
  const { encryption, recipient } = request;
  const problem = await signatureCertificateProblem(pool, recipient);
  if (problem) return { failed: { code: 'RECIPIENT_CERTIFICATE_NOT_GOOD', message: problem.message } };
  const escrowedSpki = await certificateSpki(pool, encryption);
  let answer: { publicKey: Uint8Array; envelopedKey: Uint8Array };
  try {
    answer = await km.restoreKey(request.taskNo, encryption.issuerId, {
      userCertNo: encryption.serial,
      userPublicKey: await certificateSpki(pool, recipient),
    });
  } catch (err) {
    const kmCode = err instanceof AppError ? (err.details?.kmCode as string | undefined) : undefined;
    if (err instanceof AppError && err.code === 'KM_REFUSED' && !passingKmCodes.has(kmCode ?? '')) {
      return { failed: { code: err.code, message: err.message, ...(kmCode ? { kmCode } : {}) } };
    }
    throw err;
  }
  if (!publicKeyOfSpki(answer.publicKey).equals(publicKeyOfSpki(escrowedSpki))) {
    return {
      failed: {
        code: 'KM_KEY_MISMATCH',
        message: `KM released a key that encryption certificate ${encryption.serial} does not certify`,
      },
    };
  }
  return {
    released: { publicKey: Buffer.from(answer.publicKey), envelopedKey: Buffer.from(answer.envelopedKey) },
  };
}

/** A KM error as the caller sees it, with where the recovery stands and how to go on. */
export function stillApproved(err: unknown, details: Record<string, unknown>, retryPath: string): unknown {
  if (!(err instanceof AppError)) return err;
  return new AppError(
    err.code,
    `${err.message}; the recovery stays approved, retry it with POST ${retryPath}`,
    err.status,
    { ...err.details, ...details, status: 'approved' },
    { cause: err },
  );
}

/** A recorded failure as the caller sees it: KM's own failures are a bad gateway, the rest a conflict. */
export function releaseFailed(
  failure: { code: string; message: string; kmCode?: string },
  details: Record<string, unknown>,
): AppError {
  return new AppError(
    failure.code,
    `the key was not released: ${failure.message}`,
    failure.code.startsWith('KM_') ? 502 : 409,
    { ...details, status: 'failed', ...(failure.kmCode ? { kmCode: failure.kmCode } : {}) },
  );
}
