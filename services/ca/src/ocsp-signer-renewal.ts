import type { Device } from '@sm2ca/device';
import { type Config, LeaderJob, type Logger } from '@sm2ca/platform';
import type { Pool } from '@sm2ca/store';
import { statusChannel } from './certificate-events.ts';
import { loadIssuers, storedSerial } from './issuers.ts';
import { renewOcspSigners } from './key-ceremony.ts';

/** Leadership among CA replicas; renewOcspSigners takes its own lock for the creation itself. */
const LEADER_LOCK = 'sm2ca:ca-ocsp-signer-renewal';
const renewalActor = { name: 'ca', role: 'key_ceremony' };

export interface OcspSignerRenewalOptions {
  pool: Pool;
  /** The database URL, for the leader's own connection outside the pool. */
  url: string;
  device: Device;
  config: Config;
  log: Logger;
  leaderRetryMs?: number;
}

/**
 * Keeps every CA answered for by OCSP while the stack runs: the leading CA replica runs the
 * ceremony's signer renewal when elected, every `ca.ocspSignerCheckMinutes`, and as soon as
 * a signer's certificate changes status — so a revoked signer is replaced at once and an
 * expiring one a month ahead, without a restart or `init`.
 */
export class OcspSignerRenewal {
  readonly #options: OcspSignerRenewalOptions;
  readonly #job: LeaderJob;
  /** `issuerId:serial` of every signer certificate, as status events name them. */
  #signerCertificates = new Set<string>();

  constructor(options: OcspSignerRenewalOptions) {
    this.#options = options;
    const minutes = options.config.ca.ocspSignerCheckMinutes;
    this.#job = new LeaderJob({
      url: options.url,
      applicationName: 'sm2ca-ca-signer-renewal',
      lock: LEADER_LOCK,
      channels: [statusChannel],
      everyMs: minutes * 60_000,
      retryMs: options.leaderRetryMs,
      log: options.log,
      wakesOn: (_channel, payload) => this.#namesSigner(payload),
      work: () => this.#check(),
      failure: `OCSP signer renewal failed; tried again in ${minutes} minutes`,
    });
  }

  get leader(): boolean {
    return this.#job.leader;
  }

  /** Resolves once the first connection attempt is over; the elected replica checks right away. */
  start(): Promise<void> {
    return this.#job.start();
  }

  stop(): Promise<void> {
    return this.#job.stop();
  }

  async #check(): Promise<void> {
    const { pool, device, config, log } = this.#options;
    // Known before the renewal reads any status: a signer revoked while it runs asks for another check.
    this.#signerCertificates = await signerCertificates(pool);
    const { created } = await renewOcspSigners(pool, device, config, { actor: renewalActor });
    if (created.length > 0) {
      log.info({ created }, 'new OCSP signers created');
      this.#signerCertificates = await signerCertificates(pool);
    }
  }

  #namesSigner(payload: string): boolean {
    try {
      const event = JSON.parse(payload) as { issuerId?: unknown; serial?: unknown };
      return this.#signerCertificates.has(`${event.issuerId}:${String(event.serial).toLowerCase()}`);
    } catch {
      return false;
    }
  }
}

async function signerCertificates(pool: Pool): Promise<Set<string>> {
  const signers = [...(await loadIssuers(pool)).values()].filter((i) => i.kind === 'ocsp');
  return new Set(signers.map((s) => `${s.parentId}:${storedSerial(s.certificate)}`));
}
