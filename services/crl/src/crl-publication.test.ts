import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CrlReason,
  type ParsedCrl,
  type ParsedCrlEntry,
  parseCertificate,
  parseCrl,
  verifyCrlSignature,
} from '@sm2ca/pki';
import { createLogger, type HttpServer, loadConfig } from '@sm2ca/platform';
import { withTransaction } from '@sm2ca/store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../test/support/free-port.ts';
import { openssl, tempDir } from '../../../test/support/openssl-cli.ts';
import { rawRequest } from '../../../test/support/raw-http.ts';
import { publishStatus } from '../../ca/src/certificate-events.ts';
import { type CaTestBed, createCaTestBed } from '../../ca/src/test-support/ca-test-bed.ts';
import { buildCrlApp } from './app.ts';
import { loadCaIssuers } from './ca-issuers.ts';
import { publishCrl } from './crl-publisher.ts';

const ACCEPTANCE = { timeout: 60_000, interval: 200 };
const MINUTE_MS = 60_000;
/** A past moment in whole seconds, as CRL entries carry it. */
const compromisedAt = new Date(Math.floor(Date.now() / 1000) * 1000 - 86_400_000);

describe('CRL publisher', () => {
  let bed: CaTestBed;
  let app: HttpServer;
  const dir = tempDir('crl-test-');

  beforeAll(async () => {
    bed = await createCaTestBed();
    const config = loadConfig({ SM2CA_HOME: bed.config.home, SM2CA_CRL_DEBOUNCE_SECONDS: '1' });
    app = await buildCrlApp(
      {
        config,
        log: createLogger('crl', { level: 'silent' }),
        db: { pool: bed.db.pool, url: bed.db.url, close: async () => {} },
        device: bed.device,
      },
      { leaderRetryMs: 200 },
    );
    await app.ready();
  });
  afterAll(async () => {
    await app?.close();
    await bed?.close();
  });

  const get = (url: string, headers: Record<string, string> = {}) =>
    app.inject({ method: 'GET', url, headers });
  const crlAt = async (url: string): Promise<ParsedCrl | undefined> => {
    const res = await get(url);
    return res.statusCode === 200 ? parseCrl(res.rawPayload) : undefined;
  };
  /** The delta published just before `full`, in the same run: the one that first carried a change. */
  const deltaBefore = async (full: ParsedCrl): Promise<ParsedCrl> =>
    parseCrl((await get(`/crl/sub/${full.crlNumber! - 1n}.crl`)).rawPayload);
  const entryOf = (crl: ParsedCrl | undefined, serial: string): ParsedCrlEntry | undefined =>
    crl && [...crl.entries()].find((e) => e.serial === BigInt(`0x${serial}`));
  const issue = async () => (await bed.issue('王五')).serial;
  const revoke = async (serial: string, reason: string, extra: Record<string, unknown> = {}) => {
    const res = await bed.instruct('/v1/instructions/revoke', {
      operation: 'revoke',
      issuerId: 'sub',
      serial,
      reason,
      ...extra,
    });
    expect(res.statusCode, res.body).toBe(200);
  };
  const caSpki = async (issuerId: string) => {
    const res = await get(`/ca/${issuerId}.cer`);
    expect(res.headers['content-type']).toBe('application/pkix-cert');
    return parseCertificate(res.rawPayload).spki;
  };

  it('publishes a signed full CRL for each CA issuer as soon as it leads', async () => {
    for (const issuerId of ['root', 'sub']) {
      await expect.poll(() => crlAt(`/crl/${issuerId}.crl`), ACCEPTANCE).toBeDefined();
      const full = (await crlAt(`/crl/${issuerId}.crl`))!;
      const ca = (await get(`/ca/${issuerId}.cer`)).rawPayload;
      expect(full.issuer).toEqual(Buffer.from(parseCertificate(ca).subject));
      expect(full.baseCrlNumber).toBeUndefined();
      expect(full.extensions.map((e) => e.oid)).toContain('2.5.29.46');
      expect(await verifyCrlSignature(full, await caSpki(issuerId), bed.device)).toBe(true);
      expect(full.nextUpdate!.getTime() - full.thisUpdate.getTime()).toBe(90 * MINUTE_MS);
      // The delta its Freshest CRL pointer names exists from the same commit, based on it.
      const delta = (await crlAt(`/crl/${issuerId}-delta.crl`))!;
      expect(delta).toBeDefined();
      expect(delta.baseCrlNumber).toBe(full.crlNumber);
      expect(delta.crlNumber).toBe(full.crlNumber! + 1n);
      expect([...delta.entries()]).toEqual([]);
      expect(await verifyCrlSignature(delta, await caSpki(issuerId), bed.device)).toBe(true);
    }
  });

  let keyCompromised: string;
  let suspended: string;

  it('carries a revocation and a suspension on a new delta and a new full CRL within seconds', async () => {
    const before = (await crlAt('/crl/sub.crl'))!;
    keyCompromised = await issue();
    suspended = await issue();
    await revoke(keyCompromised, 'keyCompromise', { invalidityDate: compromisedAt.toISOString() });
    await revoke(suspended, 'certificateHold');

    await expect.poll(async () => entryOf(await crlAt('/crl/sub.crl'), suspended), ACCEPTANCE).toBeDefined();
    const full = (await crlAt('/crl/sub.crl'))!;
    const delta = await deltaBefore(full);
    expect(full.crlNumber! > before.crlNumber!).toBe(true);
    expect(delta.baseCrlNumber).toBe(before.crlNumber);
    expect(delta.crlNumber! > before.crlNumber!).toBe(true);
    const current = (await crlAt('/crl/sub-delta.crl'))!;
    expect(current.baseCrlNumber).toBe(full.crlNumber);
    expect([...current.entries()]).toEqual([]);
    expect(delta.nextUpdate!.getTime() - delta.thisUpdate.getTime()).toBe(15 * MINUTE_MS);
    for (const crl of [full, delta]) {
      expect(entryOf(crl, keyCompromised)).toMatchObject({
        reason: CrlReason.keyCompromise,
        invalidityDate: compromisedAt,
      });
      expect(entryOf(crl, suspended)).toMatchObject({ reason: CrlReason.certificateHold });
      expect(await verifyCrlSignature(crl, await caSpki('sub'), bed.device)).toBe(true);
    }
  });

  it('follows a suspension that becomes a revocation', async () => {
    const before = (await crlAt('/crl/sub.crl'))!;
    await revoke(suspended, 'superseded');
    await expect
      .poll(async () => entryOf(await crlAt('/crl/sub.crl'), suspended)?.reason, ACCEPTANCE)
      .toBe(CrlReason.superseded);
    const delta = await deltaBefore((await crlAt('/crl/sub.crl'))!);
    expect(delta.baseCrlNumber).toBe(before.crlNumber);
    expect(entryOf(delta, suspended)?.reason).toBe(CrlReason.superseded);
    expect(entryOf(delta, keyCompromised)).toBeUndefined();
  });

  it('lists a certificate released from hold as removeFromCRL in the next delta and drops it from the full CRL', async () => {
    const released = await issue();
    await revoke(released, 'certificateHold');
    await expect.poll(async () => entryOf(await crlAt('/crl/sub.crl'), released), ACCEPTANCE).toBeDefined();
    const base = (await crlAt('/crl/sub.crl'))!;
    // The CA has no un-hold yet; this is what one would write.
    await withTransaction(bed.db.pool, async (client) => {
      await client.query(
        `UPDATE certificates SET status = 'good', revoked_at = NULL, revocation_reason = NULL
          WHERE issuer_id = 'sub' AND serial = $1`,
        [released],
      );
      await publishStatus(client, { issuerId: 'sub', serial: released, status: 'good' });
    });
    await expect
      .poll(async () => (await crlAt('/crl/sub.crl'))!.crlNumber! > base.crlNumber!, ACCEPTANCE)
      .toBe(true);
    const full = (await crlAt('/crl/sub.crl'))!;
    expect(entryOf(full, released)).toBeUndefined();
    const delta = await deltaBefore(full);
    expect(delta.baseCrlNumber).toBe(base.crlNumber);
    expect([...delta.entries()]).toEqual([expect.objectContaining({ reason: CrlReason.removeFromCRL })]);
    expect(entryOf(delta, released)).toBeDefined();
  });

  it('records the first CRL that carried each revocation and reports the delays', async () => {
    const res = await get(`/v1/revocations/sub/${suspended.toUpperCase()}/publication`);
    expect(res.statusCode, res.body).toBe(200);
    const { revocations } = res.json();
    expect(revocations.map((r: { status: string }) => r.status)).toEqual(['hold', 'revoked']);
    expect(revocations[1]).toMatchObject({ reason: 'superseded', firstCrl: { kind: 'delta' } });
    expect(revocations[0].clearedByCrl).toBe(revocations[1].firstCrl.number);
    for (const r of revocations) expect(r.firstCrl.delaySeconds).toBeLessThan(60);

    // The same lags as a histogram, once the publications have settled (5 s).
    const lagCount = async () => {
      const text = (await get('/metrics')).body;
      const line = text
        .split('\n')
        .find((l) => /^sm2ca_crl_publication_lag_seconds_count\{[^}]*issuer="sub"/.test(l));
      return line ? Number(line.split(' ').pop()) : 0;
    };
    const deadline = Date.now() + 20_000;
    while ((await lagCount()) < revocations.length && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(await lagCount()).toBeGreaterThanOrEqual(revocations.length);

    const first = (await get(`/crl/sub/${revocations[1].firstCrl.number}.crl`)).rawPayload;
    expect(entryOf(parseCrl(first), suspended)?.reason).toBe(CrlReason.superseded);

    const stats = (await get('/v1/stats')).json();
    expect(stats.publisher.leader).toBe(true);
    const sub = stats.issuers.find((i: { issuerId: string }) => i.issuerId === 'sub');
    expect(sub.revocations).toMatchObject({ pending: 0, oldestPendingSeconds: null });
    expect(sub.revocations.published).toBeGreaterThanOrEqual(4);
    expect(sub.revocations.p50Seconds).toBeLessThanOrEqual(sub.revocations.p99Seconds);
    expect(sub.revocations.maxSeconds).toBeLessThan(60);

    const good = await issue();
    expect((await get(`/v1/revocations/sub/${good}/publication`)).json().error.code).toBe(
      'REVOCATION_UNKNOWN',
    );
  });

  it('archives every CRL: numbers strictly increasing, each served by number, verified and parsed by OpenSSL', async () => {
    const { rows } = await bed.db.pool.query(
      'SELECT issuer_id, crl_number, kind, base_crl_number, this_update, der FROM crls ORDER BY issuer_id, crl_number',
    );
    for (const issuerId of ['root', 'sub']) {
      const archived = rows.filter((r) => r.issuer_id === issuerId);
      expect(archived.map((r) => Number(r.crl_number))).toEqual(archived.map((_, i) => i + 1));
      const spki = await caSpki(issuerId);
      for (const [i, row] of archived.entries()) {
        if (i > 0)
          expect(row.this_update.getTime()).toBeGreaterThanOrEqual(archived[i - 1].this_update.getTime());
        const res = await get(`/crl/${issuerId}/${row.crl_number}.crl`);
        expect(res.statusCode).toBe(200);
        expect(res.rawPayload).toEqual(row.der);
        const crl = parseCrl(res.rawPayload);
        expect(crl.crlNumber).toBe(BigInt(row.crl_number));
        if (row.kind === 'delta') {
          expect(crl.baseCrlNumber).toBe(BigInt(row.base_crl_number));
          expect(archived.find((r) => r.crl_number === row.base_crl_number)?.kind).toBe('full');
        }
        expect(await verifyCrlSignature(crl, spki, bed.device)).toBe(true);
        // OpenSSL 3.0 parses these but cannot check them: `openssl crl` has no way to set the GM signer ID.
        const file = join(dir, `${issuerId}-${row.crl_number}.crl`);
        writeFileSync(file, row.der);
        const text = openssl(['crl', '-inform', 'DER', '-in', file, '-text', '-noout']).toString();
        expect(text).toContain(`X509v3 CRL Number: \n                ${row.crl_number}`);
        if (row.kind === 'delta') expect(text).toContain('X509v3 Delta CRL Indicator: critical');
      }
    }
    const text = openssl([
      'crl',
      '-inform',
      'DER',
      '-in',
      join(
        dir,
        `sub-${rows.filter((r) => r.issuer_id === 'sub' && r.kind === 'full').at(-1).crl_number}.crl`,
      ),
      '-text',
      '-noout',
    ]).toString();
    expect(text).toContain('Key Compromise');
    expect(text).toContain('Superseded');
    expect(text).toContain('Invalidity Date');
    await expect(bed.db.pool.query('DELETE FROM crls')).rejects.toThrow(/never changed or deleted/);
  });

  it('serves with caching headers and answers 304 to a matching If-None-Match', async () => {
    const res = await get('/crl/sub.crl');
    const crl = parseCrl(res.rawPayload);
    expect(res.headers['content-type']).toBe('application/pkix-crl');
    expect(res.headers['last-modified']).toBe(crl.thisUpdate.toUTCString());
    expect(res.headers.expires).toBe(crl.nextUpdate!.toUTCString());
    const maxAge = Number(/max-age=(\d+)/.exec(String(res.headers['cache-control']))?.[1]);
    expect(maxAge).toBeGreaterThan(0);
    expect(maxAge * 1000).toBeLessThanOrEqual(crl.nextUpdate!.getTime() - Date.now() + 1000);
    const etag = String(res.headers.etag);
    expect(etag).toMatch(/^"[0-9a-f]{64}"$/);

    const again = await get('/crl/sub.crl', { 'if-none-match': `W/"other", ${etag}` });
    expect(again.statusCode).toBe(304);
    expect(again.rawPayload.length).toBe(0);
    expect(again.headers.etag).toBe(etag);
    expect((await get('/crl/sub.crl', { 'if-none-match': '"other"' })).statusCode).toBe(200);

    const archived = await get(`/crl/sub/${crl.crlNumber}.crl`, { 'if-none-match': etag });
    expect(archived.statusCode).toBe(304);
    expect(archived.headers['cache-control']).toContain('immutable');
    expect((await get('/ca/sub.cer')).headers.etag).toMatch(/^"[0-9a-f]{64}"$/);
  });

  it('spells Content-Length and Content-Type in canonical case on CRL and certificate downloads, as GmSSL crlget looks for them', async () => {
    const port = await freePort();
    await app.listen({ host: '127.0.0.1', port });
    for (const [path, type] of [
      ['/crl/sub.crl', 'application/pkix-crl'],
      ['/crl/sub-delta.crl', 'application/pkix-crl'],
      ['/ca/sub.cer', 'application/pkix-cert'],
    ]) {
      const res = await rawRequest(`http://127.0.0.1:${port}${path}`);
      expect(res.status, path).toBe(200);
      expect(res.headerNames, path).toEqual(expect.arrayContaining(['Content-Length', 'Content-Type']));
      expect(res.headerNames, path).not.toEqual(expect.arrayContaining(['content-length']));
      expect(res.headers['content-length'], path).toBe(String(res.body.length));
      expect(res.headers['content-type'], path).toBe(type);
    }
  });

  it('answers unknown issuers and numbers with 404 and a stable code', async () => {
    const cases: [string, string][] = [
      ['/crl/nobody.crl', 'ISSUER_UNKNOWN'],
      ['/crl/nobody-delta.crl', 'ISSUER_UNKNOWN'],
      ['/crl/ra.crl', 'ISSUER_UNKNOWN'],
      ['/ca/nobody.cer', 'ISSUER_UNKNOWN'],
      ['/crl/nobody/1.crl', 'ISSUER_UNKNOWN'],
      ['/crl/sub/999999.crl', 'CRL_NOT_FOUND'],
      ['/crl/sub/latest.crl', 'CRL_NOT_FOUND'],
      ['/crl/sub.pem', 'CRL_NOT_FOUND'],
      ['/v1/revocations/nobody/01/publication', 'ISSUER_UNKNOWN'],
    ];
    for (const [url, code] of cases) {
      const res = await get(url);
      expect(res.statusCode, url).toBe(404);
      expect(res.json().error.code, url).toBe(code);
    }
  });

  it('never gives one cRLNumber twice, even to publishers racing without the leader lock', async () => {
    const sub = (await loadCaIssuers(bed.db.pool)).get('sub')!;
    const deps = (publisherId: string) => ({
      pool: bed.db.pool,
      config: bed.config,
      signer: (label: string) => bed.device.signer(label),
      publisherId,
    });
    const published = await Promise.all(
      ['a', 'b', 'c', 'd'].map((id, i) => publishCrl(deps(id), sub, i % 2 ? 'delta' : 'full')),
    );
    const numbers = published
      .flat()
      .map((p) => p.number)
      .sort((x, y) => (x < y ? -1 : 1));
    for (let i = 1; i < numbers.length; i++) expect(numbers[i]).toBe(numbers[i - 1]! + 1n);
  });
});
