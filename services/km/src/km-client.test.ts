import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { signKmRespond } from '@sm2ca/pki';
import { AppError, KmClient, kmUrl, loadConfig } from '@sm2ca/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../test/support/free-port.ts';
import {
  createKmTestBed,
  holderKey,
  type KmTestBed,
  taskNo,
  userCertNo,
} from '../../../test/support/km-test-bed.ts';
import { openEnvelopedKey } from '../../../test/support/open-enveloped-key.ts';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

const refusal = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('not refused');
    },
    (err: unknown) => {
      expect(err).toBeInstanceOf(AppError);
      return err as AppError;
    },
  );

describe('KmClient against a KM listening on a port', () => {
  let bed: KmTestBed;
  let url: string;
  let ca: KmClient;
  let ra: KmClient;
  beforeAll(async () => {
    bed = await createKmTestBed();
    await bed.fill(4);
    url = await bed.app.listen({ host: '127.0.0.1', port: 0 });
    const client = (signer: typeof bed.caKmSigner) =>
      new KmClient({ url, caller: signer, pool: bed.db.pool, verifier: bed.device });
    ca = client(bed.caKmSigner);
    ra = client(bed.raSigner);
  });
  afterAll(() => bed?.close());

  it('builds the KM address from the settings', () => {
    expect(kmUrl(loadConfig({ SM2CA_KM_PORT: '9082' }))).toBe('http://127.0.0.1:9082');
    expect(kmUrl(loadConfig({ SM2CA_KM_HOST: '10.0.0.5' }))).toBe('http://10.0.0.5:8082');
  });

  it('applies for a key, gets it again under the same task, restores and revokes it', async () => {
    const holder = holderKey();
    const item = {
      userCertNo: userCertNo(),
      userPublicKey: holder.spki,
      notBefore: new Date(),
      notAfter: new Date(Date.now() + 86_400_000),
    };
    const task = taskNo();
    const applied = await ca.applyKey(task, 'sub', item);
    expect(hex(applied.publicKey)).toContain(
      openEnvelopedKey(applied.envelopedKey, holder.privateKeyHex).publicKeyHex,
    );
    expect(hex((await ca.applyKey(task, 'sub', item)).publicKey)).toBe(hex(applied.publicKey));

    const officer = holderKey();
    const restored = await ra.restoreKey(taskNo(), 'sub', {
      userCertNo: item.userCertNo,
      userPublicKey: officer.spki,
    });
    expect(hex(restored.publicKey)).toBe(hex(applied.publicKey));
    expect(openEnvelopedKey(restored.envelopedKey, officer.privateKeyHex).privateKeyHex).toBe(
      openEnvelopedKey(applied.envelopedKey, holder.privateKeyHex).privateKeyHex,
    );
    await ca.revokeKey(taskNo(), 'sub', { userCertNo: item.userCertNo });
    const { rows } = await bed.db.pool.query('SELECT state FROM km_keys WHERE user_cert_no = $1', [
      item.userCertNo,
    ]);
    expect(rows).toEqual([{ state: 'revoked' }]);
  });

  it('turns an ErrorPkgRespond into KM_REFUSED with the KM code', async () => {
    const err = await refusal(ca.revokeKey(taskNo(), 'sub', { userCertNo: userCertNo() }));
    expect(err.code).toBe('KM_REFUSED');
    expect(err.status).toBe(502);
    expect(err.details).toMatchObject({ kmCode: 'KEY_UNKNOWN', errNo: expect.any(Number) });
    expect(err.message).toMatch(/^KEY_UNKNOWN: /);
    const wrongCaller = await refusal(ra.revokeKey(taskNo(), 'sub', { userCertNo: userCertNo() }));
    expect(wrongCaller.details).toMatchObject({ kmCode: 'NOT_PERMITTED' });
  });

  it('says KM_UNAVAILABLE when nothing answers', async () => {
    const nowhere = new KmClient({
      url: `http://127.0.0.1:${await freePort()}`,
      caller: bed.caKmSigner,
      pool: bed.db.pool,
      verifier: bed.device,
    });
    const err = await refusal(nowhere.revokeKey(taskNo(), 'sub', { userCertNo: userCertNo() }));
    expect(err.code).toBe('KM_UNAVAILABLE');
    expect(err.status).toBe(503);
  });

  it('believes no answer that is not signed by a current KM certificate', async () => {
    let server: Server | undefined;
    try {
      // An impostor answering as the KM with a key of the hierarchy that is not the KM's.
      server = createServer(async (request, response) => {
        for await (const _ of request);
        const der = await signKmRespond(
          {
            kmName: 'km',
            responses: [{ kind: 'revokeKey', userCertNo: '01' }],
            respondTime: new Date(),
            taskNo: 'impostor-task',
          },
          bed.raSigner,
        );
        response.writeHead(200, { 'content-type': 'application/octet-stream' }).end(Buffer.from(der));
      });
      await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
      const impostor = new KmClient({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        caller: bed.caKmSigner,
        pool: bed.db.pool,
        verifier: bed.device,
      });
      const err = await refusal(impostor.revokeKey('impostor-task', 'sub', { userCertNo: '01' }));
      expect(err.code).toBe('KM_RESPONSE_INVALID');
    } finally {
      await new Promise((resolve) => server?.close(resolve));
    }
  });
});
