import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildCsr,
  buildOcspCertId,
  buildOcspRequest,
  parseCertificate,
  parseCrl,
  parseOcspResponse,
  publicKeyOfSpki,
} from '@sm2ca/pki';
import pg from 'pg';
import smCrypto from 'sm-crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/free-port.ts';
import { raOperators } from '../support/ra-client.ts';
import { SmCryptoSigner } from '../support/sm-crypto-signer.ts';
import { type Stack, startStack } from '../support/sm2ca-stack.ts';

const services = ['ra', 'ca', 'km', 'ocsp', 'crl', 'monitor'] as const;

async function poll(what: string, probe: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (await probe().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`gave up waiting for ${what}`);
}

/**
 * `sm2ca start` on its embedded PostgreSQL runs every service under its own least-privilege
 * role (migration 0020): a dual issuance (RA, CA, KM), the holder's download, a revocation,
 * and the OCSP and CRL answers that follow it all work with no more than those grants.
 */
describe('sm2ca start: each service connects as its own database role', () => {
  const dir = mkdtempSync(join(tmpdir(), 'e2e-service-roles-'));
  let stack: Stack;
  let owner: pg.Client;
  let ownerOf: (database: string) => pg.Client;

  beforeAll(async () => {
    const port = await freePort();
    stack = await startStack(undefined, { SM2CA_PG_PORT: String(port), SM2CA_MONITOR_INTERVAL_SECONDS: '1' });
    const password = readFileSync(join(stack.env.SM2CA_HOME!, 'pg', 'password'), 'utf8').trim();
    ownerOf = (database) => new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password, database });
    owner = ownerOf('postgres');
    await owner.connect();
  }, 240_000);
  afterAll(async () => {
    await owner?.end();
    await stack?.stop();
    if (stack) await rm(stack.env.SM2CA_HOME!, { recursive: true, force: true });
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps one password per service, readable by its owner only', () => {
    for (const service of services) {
      const file = join(stack.env.SM2CA_HOME!, 'pg', 'roles', `${service}.password`);
      expect(statSync(file).mode & 0o777, file).toBe(0o600);
      expect(readFileSync(file, 'utf8').trim()).toMatch(/^[A-Za-z0-9_-]{32}$/);
    }
  });

  it('lets the availability monitor probe and store its probes under its role', async () => {
    const ca = ownerOf('sm2ca');
    await ca.connect();
    try {
      await poll('passing probes of the RA, OCSP and CRL', async () => {
        const { rows } = await ca.query('SELECT DISTINCT service FROM availability_probes WHERE ok');
        return ['crl', 'ocsp', 'ra'].every((s) => rows.some((r) => r.service === s));
      });
    } finally {
      await ca.end();
    }
  });

  it('issues, revokes and answers OCSP and CRL requests with every service under its role', async () => {
    const { ra } = await raOperators(stack);
    const pair = smCrypto.sm2.generateKeyPairHex();
    const csr = Buffer.from(
      await buildCsr(
        { subject: [{ type: 'CN', value: 'Role Holder' }], publicKey: Buffer.from(pair.publicKey, 'hex') },
        new SmCryptoSigner(pair.privateKey, pair.publicKey),
      ),
    ).toString('base64');
    const entered = await ra('POST', '/v1/applications', 'clerk', {
      holderType: 'person',
      profile: 'person-sign',
      holder: { commonName: '赵六', identity: { residentId: '11010519491231002X' } },
      csr,
      publishConsent: true,
      dual: true,
    });
    expect(entered.status, entered.text).toBe(201);
    const id = entered.json().id;
    const reviewed = await ra('POST', `/v1/applications/${id}/review`, 'reviewer', { decision: 'approve' });
    expect(reviewed.status, reviewed.text).toBe(200);
    const issued = await ra('POST', `/v1/applications/${id}/issue`, 'maker');
    expect(issued.status, issued.text).toBe(201);
    const { issuerId, serial, encryption, download } = issued.json();
    expect(encryption.serial).toMatch(/^[0-9a-f]+$/);
    const downloaded = await ra('POST', '/v1/download', undefined, {
      reference: download.reference,
      code: download.code,
      format: 'der',
    });
    expect(downloaded.status, downloaded.text).toBe(200);

    const issuerCert = parseCertificate(
      Buffer.from(await (await fetch(`${stack.url.crl}/ca/${issuerId}.cer`)).arrayBuffer()),
    );
    const issuer = { subjectDer: issuerCert.subject, publicKey: publicKeyOfSpki(issuerCert.spki) };
    const ocspStatus = async () => {
      const res = await fetch(`${stack.url.ocsp}/ocsp`, {
        method: 'POST',
        headers: { 'content-type': 'application/ocsp-request' },
        body: buildOcspRequest([buildOcspCertId(issuer, BigInt(`0x${serial}`)).der]),
      });
      const answer = parseOcspResponse(Buffer.from(await res.arrayBuffer()));
      return answer.status === 'successful' ? answer.basic.responses[0]!.certStatus.status : answer.status;
    };
    await poll('OCSP to answer good', async () => (await ocspStatus()) === 'good');

    const requested = await ra('POST', '/v1/revocations', 'clerk', {
      issuerId,
      serial,
      reason: 'keyCompromise',
      requestedBy: 'e2e',
    });
    expect(requested.status, requested.text).toBe(201);
    const approved = await ra('POST', `/v1/revocations/${requested.json().id}/review`, 'reviewer', {
      decision: 'approve',
    });
    expect(approved.status, approved.text).toBe(200);

    await poll('OCSP to answer revoked', async () => (await ocspStatus()) === 'revoked');
    await poll('a CRL listing the revocation', async () => {
      const res = await fetch(`${stack.url.crl}/crl/${issuerId}.crl`);
      if (!res.ok) return false;
      return [...parseCrl(Buffer.from(await res.arrayBuffer())).entries()].some(
        (entry) => entry.serial === BigInt(`0x${serial}`),
      );
    });
    const { rows } = await owner.query(
      `SELECT DISTINCT usename FROM pg_stat_activity WHERE usename LIKE 'sm2ca\\_%' ORDER BY usename`,
    );
    expect(rows.map((r) => r.usename)).toEqual(services.map((s) => `sm2ca_${s}`).sort());
    const denied = [
      ...new Set(
        [...stack.output().matchAll(/"name":"(\w+)".*?(permission denied for \w+ \w+)/g)].map(
          ([, service, refusal]) => `${service}: ${refusal}`,
        ),
      ),
    ];
    expect(denied).toEqual([]);
    expect(stack.output()).not.toMatch(/permission denied|\b(ra|ca|km|ocsp|crl) stopped/);
  }, 180_000);
});
