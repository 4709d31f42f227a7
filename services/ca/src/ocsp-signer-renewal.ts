import type { Device } from '@sm2ca/device';
import { type Config, ControlConnection, type Logger } from '@sm2ca/platform';
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
  readonly #election: ControlConnection;
  #timer: NodeJS.Timeout | undefined;
  /** `issuerId:serial` of every signer certificate, as status events name them. */
  #signerCertificates = new Set<string>();
  #queued = false;
  #checks: Promise<void> = Promise.resolve();

  constructor(options: OcspSignerRenewalOptions) {
    this.#options = options;
    this.#election = new ControlConnection({
      url: options.url,
      applicationName: 'sm2ca-ca-signer-renewal',
      lock: LEADER_LOCK,
      channels: [statusChannel],
      retryMs: options.leaderRetryMs ?? 3_000,
      log: options.log,
      onElected: () => this.#check(),
      onNotification: (_channel, payload) => {
        if (this.#namesSigner(payload)) this.#check();
      },
    });
  }

  get leader(): boolean {
    return this.#election.leader;
  }

  /** Resolves once the first connection attempt is over; the elected replica checks right away. */
  start(): Promise<void> {
    this.#timer = setInterval(() => this.#check(), this.#options.config.ca.ocspSignerCheckMinutes * 60_000);
    this.#timer.unref();
    return this.#election.start();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#election.stop();
    await this.#checks;
  }

  /** One check at a time; any number asked for meanwhile make one more. */
  #check(): void {
    if (this.#queued) return;
    this.#queued = true;
    this.#checks = this.#checks.then(async () => {
      this.#queued = false;
      if (!this.leader) return;
      const { pool, device, config, log } = this.#options;
      try {
        // Known before the renewal reads any status: a signer revoked while it runs asks for another check.
        this.#signerCertificates = await signerCertificates(pool);
        const { created } = await renewOcspSigners(pool, device, config, { actor: renewalActor });
        if (created.length > 0) {
          log.info({ created }, 'new OCSP signers created');
          this.#signerCertificates = await signerCertificates(pool);
        }
      } catch (err) {
        log.error(
          { err },
          `OCSP signer renewal failed; tried again in ${config.ca.ocspSignerCheckMinutes} minutes`,
        );
      }
    });
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
