import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Device } from '@sm2ca/device';
import { type ProfileId, parseCertificate, parseCsr, publicKeyOfSpki, spkiSha256 } from '@sm2ca/pki';
import { AppError, instructionSignatureHeader, keyBindingOf, verifyInstruction } from '@sm2ca/platform';
import type { Pool } from '@sm2ca/store';
import type { OpensslHierarchy } from '../../../../test/support/openssl-ca.ts';
import { type StandInKmKey, standInKmKey } from './stand-in-km-key.ts';

export type Instruction = Awaited<ReturnType<typeof verifyInstruction>>;

type Answer = { status: number; body: unknown };

/**
 * The CA's side of the RA→CA contract, just enough of it for the RA's tests: it
 * acts only on instructions that verify under the RA key in the device, records
 * certificates and revocations in the tables the real CA writes, and answers a
 * repeated request id with its first answer.
 */
export class StandInCa {
  readonly received: Instruction[] = [];
  /** The key pairs made for encryption certificates, in issuance order. */
  readonly kmKeys: StandInKmKey[] = [];
  /** Answers for the next calls, before any work is done: an error status, a dropped connection, or 'pass' to act. */
  readonly failures: Array<Answer | 'drop' | 'pass'> = [];
  readonly #answers = new Map<string, Answer>();
  readonly #server: Server;

  constructor(
    private readonly pool: Pool,
    private readonly device: Device,
    private readonly raSpki: Uint8Array,
    private readonly hierarchy: OpensslHierarchy,
    private readonly issuerId: string,
  ) {
    this.#server = createServer((req, res) => {
      void this.#handle(req).then(
        (answer) => {
          if (answer === 'drop') return res.destroy();
          res
            .writeHead(answer.status, { 'content-type': 'application/json' })
            .end(JSON.stringify(answer.body));
        },
        (err: unknown) => {
          const code = err instanceof AppError ? err.code : 'INTERNAL';
          const status = err instanceof AppError ? err.status : 500;
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: { code, message: (err as Error).message } }));
        },
      );
    });
  }

  /** Listens on `port` (a free one when 0), again after close() when told its old port. */
  async listen(port = 0): Promise<number> {
    await new Promise<void>((resolve) => this.#server.listen(port, '127.0.0.1', resolve));
    return (this.#server.address() as AddressInfo).port;
  }

  /** Stops listening and drops the RA's kept-alive connections: the CA is down. */
  close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections();
    return closed;
  }

  async #handle(req: IncomingMessage): Promise<Answer | 'drop'> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    const body = await verifyInstruction(
      raw,
      req.headers[instructionSignatureHeader],
      this.raSpki,
      this.device,
    );
    this.received.push(body);
    const failure = this.failures.shift();
    if (failure && failure !== 'pass') return failure;
    const known = this.#answers.get(body.requestId);
    if (known) return known;
    const answer =
      req.url === '/v1/instructions/issue' && body.operation === 'issue'
        ? await this.#issue(body)
        : req.url === '/v1/instructions/revoke' && body.operation === 'revoke'
          ? await this.#revoke(body)
          : req.url === '/v1/instructions/release' && body.operation === 'release'
            ? await this.#release(body)
            : req.url === '/v1/instructions/issue-batch' && body.operation === 'issue-batch'
              ? await this.#issueBatch(body)
              : { status: 404, body: { error: { code: 'NOT_FOUND', message: `no ${req.url}` } } };
    this.#answers.set(body.requestId, answer);
    return answer;
  }

  /** Issues `csr` under `profile` and records it as the CA would. */
  async #certify(body: Instruction, csr: Buffer, profile: string, requestId: string) {
    const { der, serial } = this.hierarchy.issue(csr, 30);
    const subject = (body.subject as Array<{ type: string; value: string }>).map(
      (a) => `${a.type}=${a.value}`,
    );
    await this.pool.query(
      `INSERT INTO certificates (issuer_id, serial, status, profile, subject, tbs, der, not_before, not_after,
                                 request_id, issued_at)
       VALUES ($1, $2, 'good', $3, $4, $5, $5, now(), now() + interval '30 days', $6, now())`,
      [this.issuerId, serial, profile, subject.join(', '), der, requestId],
    );
    return { der, serial };
  }

  async #issue(body: Instruction): Promise<Answer> {
    const csr = Buffer.from(body.csr as string, 'base64');
    const { der, serial } = await this.#certify(body, csr, body.profile as string, body.requestId as string);
    // The RA refuses reused keys from what the CA bound; refusing them here is the real CA's job.
    const binding = keyBindingOf(
      parseCsr(csr).publicKey,
      body.holderKey as string,
      body.profile as ProfileId,
    );
    await this.pool.query(
      `INSERT INTO certified_keys (spki_sha256, holder, purpose, first_issuer_id, first_serial)
       VALUES ($1, $2, $3, $4, $5) ON CONFLICT (spki_sha256) DO NOTHING`,
      [binding.spkiSha256, binding.holder, binding.purpose, this.issuerId, serial],
    );
    return {
      status: 200,
      body: {
        issuerId: this.issuerId,
        serial,
        certificate: der.toString('base64'),
        chain: [this.hierarchy.issuing, this.hierarchy.root].map((c) => c.toString('base64')),
        ...(body.encryption ? { encryption: await this.#issueEncryption(body, csr) } : {}),
      },
    };
  }

  /** The encryption twin of a dual issuance, for a key a stand-in KM made and enveloped to the holder. */
  async #issueEncryption(body: Instruction, signatureCsr: Buffer) {
    const { profile } = body.encryption as { profile: string };
    const km = await standInKmKey(parseCsr(signatureCsr).publicKey, 'stand-in KM key');
    this.kmKeys.push(km);
    const { der, serial } = await this.#certify(body, km.csr, profile, `${body.requestId}:encryption`);
    return {
      serial,
      certificate: der.toString('base64'),
      envelopedKey: km.envelopedKey.toString('base64'),
    };
  }

  /** Each item as its own issue instruction, under its own request id; a known one answered again. */
  async #issueBatch(body: Instruction): Promise<Answer> {
    const results = [];
    for (const item of body.items as Array<Instruction>) {
      const answer =
        this.#answers.get(item.requestId) ?? (await this.#issue({ ...item, timestamp: body.timestamp }));
      this.#answers.set(item.requestId, answer);
      const { issuerId, serial } = answer.body as { issuerId: string; serial: string };
      results.push({ requestId: item.requestId, issuerId, serial });
    }
    return { status: 200, body: { results } };
  }

  async #revoke(body: Instruction): Promise<Answer> {
    const status = body.reason === 'certificateHold' ? 'hold' : 'revoked';
    const { rows } = await this.pool.query(
      `UPDATE certificates SET status = $3, revoked_at = now(), revocation_reason = $4
        WHERE issuer_id = $1 AND serial = $2 AND status IN ('good', 'hold') RETURNING revoked_at`,
      [body.issuerId, body.serial, status, body.reason],
    );
    if (!rows[0]) {
      return {
        status: 409,
        body: { error: { code: 'CERTIFICATE_NOT_REVOCABLE', message: 'not good or on hold' } },
      };
    }
    if (body.reason === 'keyCompromise') {
      const { rows: certs } = await this.pool.query(
        'SELECT der FROM certificates WHERE issuer_id = $1 AND serial = $2',
        [body.issuerId, body.serial],
      );
      const publicKey = publicKeyOfSpki(parseCertificate(new Uint8Array(certs[0].der)).spki);
      await this.pool.query(
        'INSERT INTO compromised_keys (spki_sha256, issuer_id, serial) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING',
        [spkiSha256(publicKey), body.issuerId, body.serial],
      );
    }
    return {
      status: 200,
      body: {
        issuerId: body.issuerId,
        serial: body.serial,
        status,
        revokedAt: rows[0].revoked_at.toISOString(),
      },
    };
  }

  async #release(body: Instruction): Promise<Answer> {
    const { rows } = await this.pool.query(
      `UPDATE certificates SET status = 'good', revoked_at = NULL, revocation_reason = NULL
        WHERE issuer_id = $1 AND serial = $2 AND status = 'hold' RETURNING now() AS released_at`,
      [body.issuerId, body.serial],
    );
    if (!rows[0]) {
      return { status: 409, body: { error: { code: 'CERTIFICATE_NOT_ON_HOLD', message: 'not on hold' } } };
    }
    return {
      status: 200,
      body: {
        issuerId: body.issuerId,
        serial: body.serial,
        status: 'good',
        releasedAt: rows[0].released_at.toISOString(),
      },
    };
  }
}
