import { publicKeyOfSpki } from '@sm2ca/pki';
import { AppError } from '@sm2ca/platform';

/** What the RA asks of KM (KmClient.restoreKey): the escrowed key, enveloped to a recipient key. */
export interface KeyRestorer {
  restoreKey(
    taskNo: string,
    caName: string,
    item: { userCertNo: string; userPublicKey: Uint8Array },
  ): Promise<{ publicKey: Uint8Array; envelopedKey: Uint8Array }>;
}

export interface ReleaseRequest {
  /** Fixed when the recovery is approved, so a retry is the same request to KM. */
  taskNo: string;
  /** The encryption certificate: its issuer is KM's caName, its serial KM's userCertNo. */
  issuerId: string;
  serial: string;
  /** SPKI DER of the encryption certificate, which the released key must match. */
  escrowedSpki: Uint8Array;
  /** SPKI DER of the signature key the envelope is opened with. */
  recipientSpki: Uint8Array;
}

export type ReleaseOutcome =
  | { released: { publicKey: Buffer; envelopedKey: Buffer } }
  | { failed: { code: string; message: string; kmCode?: string } };

/** Refusals another attempt with the same task number may get past; any other ends the recovery. */
const passingKmCodes = new Set(['TOO_MANY_REQUESTS', 'INTERNAL', 'STALE']);

/**
 * One attempt at KM. An unreachable KM or a passing refusal is thrown, for the caller to leave
 * the recovery approved and retry later; a lasting refusal, or a key that is not the one the
 * certificate certifies, comes back as a failure to record.
 */
export async function releaseFromKm(km: KeyRestorer, request: ReleaseRequest): Promise<ReleaseOutcome> {
  let answer: { publicKey: Uint8Array; envelopedKey: Uint8Array };
  try {
    answer = await km.restoreKey(request.taskNo, request.issuerId, {
      userCertNo: request.serial,
      userPublicKey: request.recipientSpki,
    });
  } catch (err) {
    const kmCode = err instanceof AppError ? (err.details?.kmCode as string | undefined) : undefined;
    if (err instanceof AppError && err.code === 'KM_REFUSED' && !passingKmCodes.has(kmCode ?? '')) {
      return { failed: { code: err.code, message: err.message, ...(kmCode ? { kmCode } : {}) } };
    }
    throw err;
  }
  if (!publicKeyOfSpki(answer.publicKey).equals(publicKeyOfSpki(request.escrowedSpki))) {
    return {
      failed: {
        code: 'KM_KEY_MISMATCH',
        message: `KM released a key that encryption certificate ${request.serial} does not certify`,
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
