import { generateKeyPairSync } from 'node:crypto';
import { type KmRequestItem, OIDS, signCaRequest } from '@sm2ca/pki';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createKmTestBed,
  holderKey,
  type KmTestBed,
  taskNo,
  userCertNo,
} from '../../../test/support/km-test-bed.ts';
import { openEnvelopedKey } from '../../../test/support/open-enveloped-key.ts';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

describe('KM: GM/T 0014 requests from the CA and the RA', () => {
  let bed: KmTestBed;
  beforeAll(async () => {
    bed = await createKmTestBed();
    await bed.fill(10);
  });
  afterAll(() => bed?.close());

  const escrow = async (certNo: string) =>
    (
      await bed.db.pool.query(
        `SELECT id, state, ca_name, holder_public_key, public_key, taken_task_no, not_after
           FROM km_keys WHERE user_cert_no = $1`,
        [certNo],
      )
    ).rows;
  const refusals = async (code: string) =>
    (
      await bed.db.pool.query(
        "SELECT actor, subject_id, after FROM audit_log WHERE action = 'km.request.refuse' AND after->>'code' = $1",
        [code],
      )
    ).rows;

  /** A refusal as the brief has it: 4xx, the code in the header and at the front of the one signed ErrorPkgRespond. */
  const expectRefusal = async (
    answer: Awaited<ReturnType<KmTestBed['send']>>,
    code: string,
    status: number,
  ) => {
    expect(answer.status).toBe(status);
    expect(answer.code).toBe(code);
    expect(answer.respond?.responses).toEqual([
      { kind: 'error', errNo: expect.any(Number), errDesc: expect.stringMatching(new RegExp(`^${code}: `)) },
    ]);
    expect(await answer.signedByKm()).toBe(true);
  };

  it('escrows a pooled key for an applyKey and envelopes it to the holder, who opens it with sm-crypto', async () => {
    const holder = holderKey();
    const item = bed.applyItem(holder);
    const before = await bed.pooled();
    const answer = await bed.send({ requests: [item] });
    expect(answer.status).toBe(200);
    expect(await answer.signedByKm()).toBe(true);
    const [ret] = answer.respond!.responses;
    expect(ret).toMatchObject({ kind: 'retKey', userCertNo: item.userCertNo });
    if (ret?.kind !== 'retKey') throw new Error('no retKey');
    const opened = openEnvelopedKey(ret.envelopedKey, holder.privateKeyHex);
    expect(hex(ret.publicKey)).toContain(opened.publicKeyHex);

    const [row] = await escrow(item.userCertNo);
    expect(row).toMatchObject({ state: 'current', ca_name: 'sub', taken_task_no: answer.respond!.taskNo });
    expect(hex(row.holder_public_key)).toBe(hex(holder.spki));
    expect(hex(row.public_key)).toBe(hex(ret.publicKey));
    expect(await bed.pooled()).toBe(before - 1);
    const audit = await bed.db.pool.query(
      "SELECT actor, actor_role, after FROM audit_log WHERE action = 'km.key.escrow' AND subject_id = $1",
      [String(row.id)],
    );
    expect(audit.rows).toEqual([
      {
        actor: 'ca-km',
        actor_role: 'km_caller',
        after: expect.objectContaining({ userCertNo: item.userCertNo, caName: 'sub' }),
      },
    ]);
  });

  it('answers the same task again with the same key, and another task for the same certificate with CERT_NO_TAKEN', async () => {
    const holder = holderKey();
    const item = bed.applyItem(holder);
    const task = taskNo();
    const first = await bed.send({ taskNo: task, requests: [item] });
    expect(first.status).toBe(200);
    // A retry is signed again at another time: same content, same task.
    await new Promise((r) => setTimeout(r, 1100));
    const again = await bed.send({ taskNo: task, requests: [item] });
    expect(again.status).toBe(200);
    const keyOf = (a: typeof first) => {
      const [r] = a.respond!.responses;
      return r?.kind === 'retKey' ? hex(r.publicKey) : undefined;
    };
    expect(keyOf(again)).toBe(keyOf(first));
    expect(await escrow(item.userCertNo)).toHaveLength(1);

    const other = await bed.send({ requests: [bed.applyItem(holderKey(), item.userCertNo)] });
    await expectRefusal(other, 'CERT_NO_TAKEN', 409);
    expect(await escrow(item.userCertNo)).toHaveLength(1);
    expect(await refusals('CERT_NO_TAKEN')).toHaveLength(1);
  });

  it('answers a lost answer again from the escrow: the key is enveloped anew to the same holder', async () => {
    const holder = holderKey();
    const item = bed.applyItem(holder);
    const task = taskNo();
    const first = await bed.send({ taskNo: task, requests: [item] });
    // As if the KM had died after the commit, before its answer was kept.
    await bed.db.pool.query('UPDATE km_requests SET response = NULL WHERE task_no = $1', [task]);
    const again = await bed.send({ taskNo: task, requests: [item] });
    expect(again.status).toBe(200);
    const [a, b] = [first, again].map((x) => x.respond!.responses[0]);
    if (a?.kind !== 'retKey' || b?.kind !== 'retKey') throw new Error('no retKey');
    expect(hex(b.publicKey)).toBe(hex(a.publicKey));
    expect(openEnvelopedKey(b.envelopedKey, holder.privateKeyHex).privateKeyHex).toBe(
      openEnvelopedKey(a.envelopedKey, holder.privateKeyHex).privateKeyHex,
    );
  });

  it('refuses a stale request and a task number reused for other content', async () => {
    const stale = await bed.send({
      requestTime: new Date(Date.now() - 10 * 60_000),
      requests: [bed.applyItem(holderKey())],
    });
    await expectRefusal(stale, 'STALE', 401);

    const task = taskNo();
    expect((await bed.send({ taskNo: task, requests: [bed.applyItem(holderKey())] })).status).toBe(200);
    const replayed = await bed.send({ taskNo: task, requests: [bed.applyItem(holderKey())] });
    await expectRefusal(replayed, 'REPLAYED', 409);
    expect((await refusals('REPLAYED'))[0]).toMatchObject({ actor: 'ca-km', subject_id: task });
  });

  it('refuses garbage, an empty body and a signature that is not the one on the request', async () => {
    for (const body of [
      new Uint8Array(0),
      new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x01]),
      Buffer.from('hello'),
    ]) {
      await expectRefusal(await bed.post(body), 'MALFORMED', 400);
    }
    const tampered = await bed.send(
      { requests: [bed.applyItem(holderKey())] },
      {
        raw: (der) => {
          const copy = new Uint8Array(der);
          copy[copy.length - 1]! ^= 1;
          return copy;
        },
      },
    );
    expect([400, 401]).toContain(tampered.status);
    expect(['MALFORMED', 'SIGNATURE_INVALID']).toContain(tampered.code);
    const json = await bed.post(Buffer.from('{}'), 'application/json');
    expect(json.status).toBe(400);
    expect(json.code).toBe('MALFORMED');
    expect((await refusals('MALFORMED')).length).toBeGreaterThanOrEqual(4);
  });

  it('refuses a request signed by a key with no current ca-km or ra certificate', async () => {
    await bed.device.generateKeyPair({ label: 'stranger', token: false });
    const answer = await bed.send(
      { requests: [bed.applyItem(holderKey())] },
      { signer: bed.device.signer('stranger') },
    );
    await expectRefusal(answer, 'SIGNATURE_INVALID', 401);
    expect((await refusals('SIGNATURE_INVALID'))[0].actor).toBe('unknown');
  });

  it('lets the RA ask only for recoveries and the CA only for keys and revocations', async () => {
    const ra = await bed.send({ requests: [bed.applyItem(holderKey())] }, { signer: bed.raSigner });
    await expectRefusal(ra, 'NOT_PERMITTED', 403);
    const ca = await bed.send({
      requests: [{ kind: 'restoreKey', userCertNo: userCertNo(), userPublicKey: holderKey().spki }],
    });
    await expectRefusal(ca, 'NOT_PERMITTED', 403);
    const foreign = await bed.send({ caName: 'elsewhere', requests: [bed.applyItem(holderKey())] });
    await expectRefusal(foreign, 'NOT_PERMITTED', 403);
  });

  it('refuses what is not SM2, SM4 and SM3', async () => {
    const p256 = new Uint8Array(
      generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'der' }),
    );
    const ecdsaHolder = await bed.send({ requests: [bed.applyItem({ spki: p256 })] });
    await expectRefusal(ecdsaHolder, 'ALGORITHM_UNSUPPORTED', 400);
    const item = bed.applyItem(holderKey()) as Extract<KmRequestItem, { kind: 'applyKey' }>;
    const aes = await bed.send({
      requests: [
        {
          ...item,
          algorithms: {
            appKeyType: OIDS.sm2,
            appKeyLength: 256,
            retAsymAlg: OIDS.sm2Encrypt,
            retSymAlg: '2.16.840.1.101.3.4.1.2',
            retHashAlg: OIDS.sm3,
          },
        },
      ],
    });
    await expectRefusal(aes, 'ALGORITHM_UNSUPPORTED', 400);
    expect(await escrow(item.userCertNo)).toEqual([]);
  });

  it('restores an escrowed key to the key the RA names, revoked or not, and refuses an unknown one', async () => {
    const item = bed.applyItem(holderKey());
    const applied = await bed.send({ requests: [item] });
    const [ret] = applied.respond!.responses;
    if (ret?.kind !== 'retKey') throw new Error('no retKey');

    const unknown = await bed.send(
      { requests: [{ kind: 'restoreKey', userCertNo: userCertNo(), userPublicKey: holderKey().spki }] },
      { signer: bed.raSigner },
    );
    await expectRefusal(unknown, 'KEY_UNKNOWN', 404);

    const revoked = await bed.send({ requests: [{ kind: 'revokeKey', userCertNo: item.userCertNo }] });
    expect(revoked.status).toBe(200);
    expect(revoked.respond!.responses).toEqual([{ kind: 'revokeKey', userCertNo: item.userCertNo }]);
    expect((await escrow(item.userCertNo))[0].state).toBe('revoked');
    // The CA's retry under another task changes nothing.
    expect((await bed.send({ requests: [{ kind: 'revokeKey', userCertNo: item.userCertNo }] })).status).toBe(
      200,
    );
    const revocations = await bed.db.pool.query(
      "SELECT before, after FROM audit_log WHERE action = 'km.key.revoke' AND after->>'userCertNo' = $1",
      [item.userCertNo],
    );
    expect(revocations.rows).toEqual([
      { before: { state: 'current' }, after: expect.objectContaining({ state: 'revoked' }) },
    ]);

    const officer = holderKey();
    const restored = await bed.send(
      { requests: [{ kind: 'restoreKey', userCertNo: item.userCertNo, userPublicKey: officer.spki }] },
      { signer: bed.raSigner },
    );
    expect(restored.status).toBe(200);
    const [back] = restored.respond!.responses;
    if (back?.kind !== 'restoreKey') throw new Error('no restoreKey');
    expect(hex(back.publicKey)).toBe(hex(ret.publicKey));
    expect(hex(back.publicKey)).toContain(
      openEnvelopedKey(back.envelopedKey, officer.privateKeyHex).publicKeyHex,
    );
    const audit = await bed.db.pool.query(
      "SELECT actor, after FROM audit_log WHERE action = 'km.key.restore' AND after->>'userCertNo' = $1",
      [item.userCertNo],
    );
    expect(audit.rows).toEqual([{ actor: 'ra', after: expect.objectContaining({ state: 'revoked' }) }]);

    const neverEscrowed = await bed.send({ requests: [{ kind: 'revokeKey', userCertNo: userCertNo() }] });
    await expectRefusal(neverEscrowed, 'KEY_UNKNOWN', 404);
  });

  it('gives 30 concurrent applications 30 distinct keys from a pool of 10, losing none', async () => {
    await bed.fill(10);
    const items = Array.from({ length: 30 }, () => bed.applyItem(holderKey()));
    const answers = await Promise.all(items.map((item) => bed.send({ requests: [item] })));
    expect(answers.map((a) => a.status)).toEqual(items.map(() => 200));
    const keys = answers.map((a) => {
      const [r] = a.respond!.responses;
      return r?.kind === 'retKey' ? hex(r.publicKey) : '';
    });
    expect(new Set(keys).size).toBe(30);
    const { rows } = await bed.db.pool.query(
      "SELECT encode(public_key, 'hex') AS key FROM km_keys WHERE user_cert_no = ANY($1) AND state = 'current'",
      [items.map((i) => i.userCertNo)],
    );
    expect(rows.map((r) => r.key).sort()).toEqual([...keys].sort());
    expect(await bed.pooled()).toBe(0);
  });

  it('answers concurrent twins of one task alike, with one escrow and one ledger row', async () => {
    await bed.fill(5);
    const pooled = await bed.pooled();
    const task = taskNo();
    const item = bed.applyItem(holderKey());
    const twins = await Promise.all(
      Array.from({ length: 6 }, () => bed.send({ taskNo: task, requests: [item] })),
    );
    expect(twins.map((t) => t.status)).toEqual(twins.map(() => 200));
    expect(new Set(twins.map((t) => hex(t.der))).size).toBe(1);
    expect(await escrow(item.userCertNo)).toHaveLength(1);
    const { rows } = await bed.db.pool.query(
      'SELECT count(*)::int AS n FROM km_requests WHERE task_no = $1',
      [task],
    );
    expect(rows[0].n).toBe(1);
    expect(await bed.pooled()).toBe(pooled - 1);
  });

  it('answers every mutation of a signed request with a refusal, never a failure', async () => {
    const der = await signCaRequest(
      { caName: 'sub', requestTime: new Date(), taskNo: taskNo(), requests: [bed.applyItem(holderKey())] },
      bed.caKmSigner,
    );
    let seed = 20_260_110;
    const random = () => {
      seed = (seed * 48_271) % 2_147_483_647;
      return seed;
    };
    for (let i = 0; i < 150; i++) {
      const copy = Uint8Array.from(der);
      for (let flips = 1 + (random() % 3); flips > 0; flips--)
        copy[random() % copy.length]! ^= 1 << (random() % 8);
      const answer = await bed.post(i % 5 === 0 ? copy.subarray(0, random() % copy.length) : copy);
      expect(answer.status, `mutation ${i}`).toBeGreaterThanOrEqual(400);
      expect(answer.status, `mutation ${i}`).toBeLessThan(500);
    }
  });

  it('refuses every request under a revoked ca-km certificate', async () => {
    await bed.revokeCeremonyCertificate('ca-km');
    const answer = await bed.send({ requests: [bed.applyItem(holderKey())] });
    await expectRefusal(answer, 'CALLER_REVOKED', 403);
    expect((await refusals('CALLER_REVOKED'))[0].actor).toBe('ca-km');
  });
});
