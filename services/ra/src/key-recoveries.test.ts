import { randomInt } from 'node:crypto';
import { parseCertificate } from '@sm2ca/pki';
import { AppError } from '@sm2ca/platform';
import { describe, expect, it } from 'vitest';
import { useRaTestBed } from './test-support/ra-test-bed.ts';
import { recordCertificate } from './test-support/recovery-certificates.ts';
import { StandInKm } from './test-support/stand-in-km.ts';

const identityCheck = {
  requester: 'holder',
  document: { documentType: 'resident_id_card', documentNumber: '11010519491231002X' },
  method: 'original card read by the ID card reader',
  note: 'photo compared in person',
};

describe('RA key recovery (密钥恢复)', () => {
  const bed = useRaTestBed();

  /** A holder with a good signature certificate and an encryption certificate. */
  async function holderWithPair() {
    const holderKey = `resident-id:1101051949${randomInt(1e7, 1e8)}`;
    const signature = await recordCertificate(bed, holderKey, 'person-sign');
    const encryption = await recordCertificate(bed, holderKey, 'person-encrypt');
    return { holderKey, signature, encryption };
  }

  const submit = (body: object, who: 'clerk' | 'clerk2' = 'clerk') =>
    bed.call(who, 'POST', '/v1/key-recoveries', { identityCheck, ...body });

  const auditOf = async (id: string) =>
    (
      await bed.pool.query(
        "SELECT actor, action, after FROM audit_log WHERE subject_type = 'key_recovery' AND subject_id = $1 ORDER BY id",
        [id],
      )
    ).rows;

  it('records the identity check, a different reviewer approves, KM envelopes to the signature key, the holder downloads once', async () => {
    const { holderKey, signature, encryption } = await holderWithPair();
    const submitted = await submit({ issuerId: encryption.issuerId, serial: encryption.serial });
    expect(submitted.statusCode, submitted.body).toBe(201);
    const { id } = submitted.json();
    expect(submitted.json()).toMatchObject({
      status: 'submitted',
      holderKey,
      identityCheck,
      enteredBy: 'op-clerk',
    });

    const approved = await bed.call('reviewer', 'POST', `/v1/key-recoveries/${id}/review`, {
      decision: 'approve',
    });
    expect(approved.statusCode, approved.body).toBe(200);
    const view = approved.json();
    expect(view).toMatchObject({
      status: 'released',
      reviewedBy: 'op-reviewer',
      recipient: { issuerId: signature.issuerId, serial: signature.serial },
      failure: null,
    });
    expect(view.download.reference).toMatch(/^[0-9]{12}$/);
    const asked = bed.km.received.at(-1)!;
    const signatureSpki = parseCertificate(signature.der).spki;
    expect(asked).toMatchObject({ caName: encryption.issuerId, userCertNo: encryption.serial });
    expect(Buffer.from(asked.userPublicKey)).toEqual(Buffer.from(signatureSpki));

    const download = { reference: view.download.reference, code: view.download.code.toLowerCase() };
    const fetched = await bed.call(undefined, 'POST', '/v1/key-recoveries/download', download);
    expect(fetched.statusCode, fetched.body).toBe(200);
    expect(fetched.json()).toMatchObject({
      recoveryId: id,
      serial: encryption.serial,
      encryptionCertificate: encryption.der.toString('base64'),
      publicKey: Buffer.from(parseCertificate(encryption.der).spki).toString('base64'),
      envelopedKey: Buffer.from(StandInKm.envelopeFor(signatureSpki)).toString('base64'),
      recipient: { serial: signature.serial },
    });
    const again = await bed.call(undefined, 'POST', '/v1/key-recoveries/download', download);
    expect(again.statusCode).toBe(410);
    expect(again.json().error.code).toBe('DOWNLOAD_CODE_USED');
    expect((await bed.call('reviewer', 'GET', `/v1/key-recoveries/${id}`)).json().status).toBe('downloaded');
    expect((await auditOf(id)).map((r) => r.action)).toEqual([
      'key_recovery.submit',
      'key_recovery.approve',
      'key_recovery.release',
      'key_recovery.download',
      'key_recovery.download_refuse',
    ]);
  });

  it('finds the holder’s newest good encryption certificate from the holder key, and envelopes to the newest signature key', async () => {
    const { holderKey, encryption } = await holderWithPair();
    const newerSignature = await recordCertificate(bed, holderKey, 'person-sign');
    const { id, serial } = (await submit({ holderKey })).json();
    expect(serial).toBe(encryption.serial);
    const approved = await bed.call('reviewer', 'POST', `/v1/key-recoveries/${id}/review`, {
      decision: 'approve',
    });
    expect(approved.json().recipient.serial).toBe(newerSignature.serial);
  });

  it('refuses the entry clerk reviewing their own request, and audits the refusal', async () => {
    const { encryption } = await holderWithPair();
    const { id } = (await submit({ issuerId: encryption.issuerId, serial: encryption.serial })).json();
    const res = await bed.call('clerk', 'POST', `/v1/key-recoveries/${id}/review`, { decision: 'approve' });
    expect(res.statusCode).toBe(403);
    expect(res.json().error.code).toBe('ROLE_FORBIDDEN');
    // An operator moved from entry to review since: the RA refuses, and so would the DB CHECK.
    const moved = (await submit({ holderKey: (await holderWithPair()).holderKey }, 'clerk2')).json().id;
    await bed.pool.query("UPDATE operator_roles SET role = 'reviewer' WHERE operator_id = $1", [
      bed.ids.clerk2,
    ]);
    try {
      const same = await bed.call('clerk2', 'POST', `/v1/key-recoveries/${moved}/review`, {
        decision: 'approve',
      });
      expect(same.statusCode).toBe(403);
      expect(same.json().error.code).toBe('SAME_OPERATOR');
    } finally {
      await bed.pool.query("UPDATE operator_roles SET role = 'entry_clerk' WHERE operator_id = $1", [
        bed.ids.clerk2,
      ]);
    }
    // The DB CHECK, whatever the route.
    await expect(
      bed.pool.query('UPDATE key_recoveries SET reviewed_by = entered_by WHERE id = $1', [id]),
    ).rejects.toThrow(/check constraint/);
    const refusals = (await auditOf(id)).filter((r) => r.action === 'key_recovery.refuse');
    expect(refusals).toEqual([
      expect.objectContaining({
        actor: 'op-clerk',
        after: expect.objectContaining({ code: 'ROLE_FORBIDDEN' }),
      }),
    ]);
  });

  it('keeps roles apart: a key administrator or judicial officer neither enters nor reviews nor reads', async () => {
    const { encryption } = await holderWithPair();
    const body = { identityCheck, issuerId: encryption.issuerId, serial: encryption.serial };
    for (const who of ['reviewer', 'keyAdmin', 'officer'] as const) {
      expect((await bed.call(who, 'POST', '/v1/key-recoveries', body)).json().error.code).toBe(
        'ROLE_FORBIDDEN',
      );
    }
    const { id } = (await submit(body)).json();
    for (const who of ['clerk2', 'keyAdmin', 'officer', 'maker'] as const) {
      const res = await bed.call(who, 'POST', `/v1/key-recoveries/${id}/review`, { decision: 'approve' });
      expect(res.json().error.code, who).toBe('ROLE_FORBIDDEN');
    }
    expect((await bed.call('keyAdmin', 'GET', '/v1/key-recoveries')).statusCode).toBe(403);
    expect((await bed.call('officer', 'GET', '/v1/applications')).statusCode).toBe(403);
  });

  it('refuses a release before approval, a rejection without reason, and a second decision', async () => {
    const { encryption } = await holderWithPair();
    const { id } = (await submit({ issuerId: encryption.issuerId, serial: encryption.serial })).json();
    const early = await bed.call('reviewer', 'POST', `/v1/key-recoveries/${id}/release`);
    expect(early.statusCode).toBe(409);
    expect(early.json().error.code).toBe('KEY_RECOVERY_NOT_APPROVED');
    const bare = await bed.call('reviewer', 'POST', `/v1/key-recoveries/${id}/review`, {
      decision: 'reject',
    });
    expect(bare.json().error.code).toBe('REVIEW_REASON_REQUIRED');
    const rejected = await bed.call('reviewer', 'POST', `/v1/key-recoveries/${id}/review`, {
      decision: 'reject',
      reason: 'the card shown does not match the holder',
    });
    expect(rejected.json()).toMatchObject({
      status: 'rejected',
      reviewReason: 'the card shown does not match the holder',
    });
    const twice = await bed.call('reviewer2', 'POST', `/v1/key-recoveries/${id}/review`, {
      decision: 'approve',
    });
    expect(twice.statusCode).toBe(409);
    expect(twice.json().error.code).toBe('KEY_RECOVERY_DECIDED');
    expect((await auditOf(id)).map((r) => r.action)).toEqual([
      'key_recovery.submit',
      'key_recovery.refuse',
      'key_recovery.refuse',
      'key_recovery.reject',
      'key_recovery.refuse',
    ]);
  });

  it('refuses at the desk: a signature certificate, a holder with no signature certificate, an agent without authorisation, a second open request', async () => {
    const { holderKey, signature, encryption } = await holderWithPair();
    const sign = await submit({ issuerId: signature.issuerId, serial: signature.serial });
    expect(sign.json().error.code).toBe('NOT_ENCRYPTION_CERTIFICATE');
    const both = await submit({ holderKey, issuerId: encryption.issuerId, serial: encryption.serial });
    expect(both.json().error.code).toBe('CERTIFICATE_REFERENCE_INVALID');
    const agent = await bed.call('clerk', 'POST', '/v1/key-recoveries', {
      holderKey,
      identityCheck: { ...identityCheck, requester: 'agent' },
    });
    expect(agent.json().error.code).toBe('AGENT_AUTHORISATION_REQUIRED');
    expect((await submit({ holderKey })).statusCode).toBe(201);
    const pending = await submit({ holderKey }, 'clerk2');
    expect(pending.statusCode).toBe(409);
    expect(pending.json().error.code).toBe('KEY_RECOVERY_PENDING');

    const lone = `resident-id:1101051949${randomInt(1e7, 1e8)}`;
    const loneEncryption = await recordCertificate(bed, lone, 'person-encrypt');
    await recordCertificate(bed, lone, 'person-sign', 'revoked');
    const none = await submit({ issuerId: loneEncryption.issuerId, serial: loneEncryption.serial });
    expect(none.statusCode).toBe(409);
    expect(none.json().error.code).toBe('NO_SIGNATURE_CERTIFICATE');
  });

  it('stays approved while KM is down and releases on retry with the same task number', async () => {
    const { encryption } = await holderWithPair();
    const { id } = (await submit({ issuerId: encryption.issuerId, serial: encryption.serial })).json();
    bed.km.failures.push(new AppError('KM_UNAVAILABLE', 'KM cannot be reached', 503));
    const down = await bed.call('reviewer', 'POST', `/v1/key-recoveries/${id}/review`, {
      decision: 'approve',
    });
    expect(down.statusCode).toBe(503);
    expect(down.json().error).toMatchObject({
      code: 'KM_UNAVAILABLE',
      details: { status: 'approved', keyRecoveryId: id },
    });
    expect((await bed.call('reviewer', 'GET', `/v1/key-recoveries/${id}`)).json().status).toBe('approved');
    const retried = await bed.call('maker', 'POST', `/v1/key-recoveries/${id}/release`);
    expect(retried.statusCode, retried.body).toBe(200);
    expect(retried.json().status).toBe('released');
    expect(retried.json().download.code).toBeTruthy();
    const [first, second] = bed.km.received.slice(-2);
    expect(second!.taskNo).toBe(first!.taskNo);
    const done = await bed.call('maker', 'POST', `/v1/key-recoveries/${id}/release`);
    expect(done.json().error.code).toBe('KEY_RECOVERY_NOT_APPROVED');
  });

  it('ends as failed when the signature certificate is revoked before KM could be asked', async () => {
    const { signature, encryption } = await holderWithPair();
    const { id } = (await submit({ issuerId: encryption.issuerId, serial: encryption.serial })).json();
    bed.km.failures.push(new AppError('KM_UNAVAILABLE', 'KM cannot be reached', 503));
    await bed.call('reviewer', 'POST', `/v1/key-recoveries/${id}/review`, { decision: 'approve' });
    await bed.pool.query("UPDATE certificates SET status = 'revoked' WHERE issuer_id = $1 AND serial = $2", [
      signature.issuerId,
      signature.serial,
    ]);
    const asked = bed.km.received.length;
    const retried = await bed.call('reviewer', 'POST', `/v1/key-recoveries/${id}/release`);
    expect(retried.statusCode).toBe(409);
    expect(retried.json().error).toMatchObject({
      code: 'RECIPIENT_CERTIFICATE_NOT_GOOD',
      details: { status: 'failed' },
    });
    expect(bed.km.received).toHaveLength(asked);
  });

  it('ends as failed when KM refuses for good', async () => {
    const { encryption } = await holderWithPair();
    const { id } = (await submit({ issuerId: encryption.issuerId, serial: encryption.serial })).json();
    bed.km.failures.push(
      new AppError('KM_REFUSED', 'KEY_UNKNOWN: no escrow', 502, { errNo: 9, kmCode: 'KEY_UNKNOWN' }),
    );
    const refused = await bed.call('reviewer', 'POST', `/v1/key-recoveries/${id}/review`, {
      decision: 'approve',
    });
    expect(refused.statusCode).toBe(502);
    expect(refused.json().error).toMatchObject({
      code: 'KM_REFUSED',
      details: { status: 'failed', kmCode: 'KEY_UNKNOWN' },
    });
    const view = (await bed.call('reviewer', 'GET', `/v1/key-recoveries/${id}`)).json();
    expect(view).toMatchObject({ status: 'failed', failure: { code: 'KM_REFUSED', kmCode: 'KEY_UNKNOWN' } });
    expect((await bed.call('reviewer', 'GET', '/v1/key-recoveries?status=failed')).json().items[0].id).toBe(
      id,
    );
  });

  it('locks the download after five wrong codes; a certificate maker hands out a new code until the key is fetched', async () => {
    const { encryption } = await holderWithPair();
    const { id } = (await submit({ issuerId: encryption.issuerId, serial: encryption.serial })).json();
    const { download } = (
      await bed.call('reviewer', 'POST', `/v1/key-recoveries/${id}/review`, { decision: 'approve' })
    ).json();
    const unknown = await bed.call(undefined, 'POST', '/v1/key-recoveries/download', {
      reference: '000000000000',
      code: download.code,
    });
    expect(unknown.json().error.code).toBe('DOWNLOAD_CODE_INVALID');
    for (let i = 4; i >= 0; i--) {
      const wrong = await bed.call(undefined, 'POST', '/v1/key-recoveries/download', {
        reference: download.reference,
        code: 'AAAA-AAAA-AAAA-AAAA',
      });
      // Same status and body as an unknown reference: nothing tells the prober this one exists.
      expect(wrong.statusCode).toBe(unknown.statusCode);
      expect(wrong.body).toBe(unknown.body);
    }
    const locked = await bed.call(undefined, 'POST', '/v1/key-recoveries/download', {
      reference: download.reference,
      code: download.code,
    });
    expect(locked.json().error.code).toBe('DOWNLOAD_CODE_LOCKED');
    const fresh = await bed.call('maker', 'POST', `/v1/key-recoveries/${id}/download-code`);
    expect(fresh.statusCode, fresh.body).toBe(201);
    const old = await bed.call(undefined, 'POST', '/v1/key-recoveries/download', {
      reference: download.reference,
      code: download.code,
    });
    expect(old.json().error.code).toBe('DOWNLOAD_CODE_INVALID');
    const { reference, code } = fresh.json();
    expect(
      (await bed.call(undefined, 'POST', '/v1/key-recoveries/download', { reference, code })).statusCode,
    ).toBe(200);
    const after = await bed.call('maker', 'POST', `/v1/key-recoveries/${id}/download-code`);
    expect(after.json().error.code).toBe('KEY_RECOVERY_NOT_RELEASED');
  });
});
