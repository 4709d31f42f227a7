import type { Device } from '@sm2ca/device';
import { buildOcspResponse, type OcspCertId } from '@sm2ca/pki';
import type { CertState } from './certificate-state.ts';
import type { ResponderIssuer } from './issuer-registry.ts';

export interface SingleAnswer {
  issuer: ResponderIssuer;
  certId: Pick<OcspCertId, 'der'>;
  state: CertState;
}

export interface SignedResponse {
  der: Buffer;
  thisUpdate: Date;
  nextUpdate: Date;
}

/**
 * A serial we never issued may be one being issued right now; caches should not hold
 * "unknown" for a whole validity period.
 */
const UNKNOWN_VALIDITY_MS = 10 * 60_000;

/** Signs OCSP responses in the device with the CA's delegated signer key. */
export class ResponseSigner {
  constructor(
    private readonly device: Device,
    private readonly validityMs: number,
  ) {}

  /** thisUpdate now; nextUpdate one validity period later, never past the signer certificate. */
  window(answer: SingleAnswer, now: Date): { thisUpdate: Date; nextUpdate: Date } {
    const validity = answer.state.status.status === 'unknown' ? UNKNOWN_VALIDITY_MS : this.validityMs;
    const end = Math.min(now.getTime() + validity, answer.issuer.signer.notAfter.getTime());
    return { thisUpdate: now, nextUpdate: new Date(end) };
  }

  async signOne(answer: SingleAnswer, now = new Date()): Promise<SignedResponse> {
    const window = this.window(answer, now);
    const der = await this.sign([answer], now);
    return { der, ...window };
  }

  /** One response for several CertIDs, all of one issuer (one responder signs a response). */
  async sign(answers: readonly SingleAnswer[], now = new Date(), nonce?: Buffer): Promise<Buffer> {
    const { signer } = answers[0]!.issuer;
    return buildOcspResponse(
      {
        responder: signer.responder,
        producedAt: now,
        responses: answers.map((answer) => ({
          certId: answer.certId,
          certStatus: answer.state.status,
          ...this.window(answer, now),
        })),
        ...(nonce ? { nonce } : {}),
      },
      { sign: (data) => this.device.sign(signer.keyLabel, data) },
    );
  }
}
