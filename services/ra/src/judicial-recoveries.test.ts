import { randomInt } from 'node:crypto';
import { parseCertificate } from '@sm2ca/pki';
import { describe, expect, it } from 'vitest';
import { type StaffMember, useRaTestBed } from './test-support/ra-test-bed.ts';
import { recordCertificate } from './test-support/recovery-certificates.ts';
import { StandInKm } from './test-support/stand-in-km.ts';

const documentNumber = () => `1101051980${randomInt(1e7, 1e8)}`;

describe('RA judicial recovery (司法恢复)', () => {
  const bed = useRaTestBed();

  /** An encryption certificate of some holder, and the officer's own signature certificate. */
  async function openCase(who: StaffMember = 'officer') {
    const holderKey = `resident-id:${documentNumber()}`;
    await recordCertificate(bed, holderKey, 'person-sign');
    const encryption = await recordCertificate(bed, holderKey, 'person-encrypt');
    const officerNumber = documentNumber();
    const officerCertificate = await recordCertificate(bed, `resident-id:${officerNumber}`, 'person-sign');
    const body = {
      issuerId: encryption.issuerId,
      serial: encryption.serial,
      authorisation: {
        documentReference: `(2026)京0105刑初${randomInt(1000, 9999)}号`,
        court: '北京市朝阳区人民法院',
        officerName: '赵明',
        officerDocument: { documentType: 'resident_id_card', documentNumber: officerNumber },
      },
      officerCertificate: { issuerId: officerCertificate.issuerId, serial: officerCertificate.serial },
    };
    const res = await bed.call(who, 'POST', '/v1/judicial-recoveries', body);
    return { res, body, encryption, officerCertificate, id: res.json().id as string };
  }

  const decide = (who: StaffMember, id: string, decision: 'approve' | 'reject', reason?: string) =>
    bed.call(who, 'POST', `/v1/judicial-recoveries/${id}/decisions`, {
      decision,
      ...(reason ? { reason } : {}),
    });

  const audit = async (id: string) =>
    (
      await bed.pool.query(
        `SELECT actor, action, after, at FROM audit_log
          WHERE subject_type = 'judicial_recovery' AND subject_id = $1 ORDER BY id`,
        [id],
      )
    ).rows;

  it('needs two key administrators; KM envelopes to the officer’s certificate; the officer downloads once', async () => {
    const { res, id, encryption, officerCertificate } = await openCase();
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({
      status: 'submitted',
      enteredBy: 'op-officer',
      decisions: [],
      approvalsNeeded: 2,
    });

    const early = await bed.call('keyAdmin', 'POST', `/v1/judicial-recoveries/${id}/release`);
    expect(early.statusCode).toBe(409);
    expect(early.json().error.code).toBe('APPROVALS_MISSING');
    const notYet = await bed.call('officer', 'POST', `/v1/judicial-recoveries/${id}/download`);
    expect(notYet.json().error.code).toBe('KEY_NOT_RELEASED');

    const first = await decide('keyAdmin', id, 'approve');
    expect(first.json()).toMatchObject({
      status: 'submitted',
      decisions: [{ by: 'op-keyAdmin', decision: 'approve', expired: false }],
    });
    const twice = await decide('keyAdmin', id, 'approve');
    expect(twice.statusCode).toBe(409);
    expect(twice.json().error.code).toBe('APPROVAL_DUPLICATE');

    const second = await decide('keyAdmin2', id, 'approve');
    expect(second.statusCode, second.body).toBe(200);
    expect(second.json()).toMatchObject({ status: 'released', failure: null });
    const officerSpki = parseCertificate(officerCertificate.der).spki;
    expect(Buffer.from(bed.km.received.at(-1)!.userPublicKey)).toEqual(Buffer.from(officerSpki));

    const stranger = await bed.call('officer2', 'POST', `/v1/judicial-recoveries/${id}/download`);
    expect(stranger.statusCode).toBe(403);
    expect(stranger.json().error.code).toBe('NOT_CASE_OFFICER');
    const fetched = await bed.call('officer', 'POST', `/v1/judicial-recoveries/${id}/download`);
    expect(fetched.statusCode, fetched.body).toBe(200);
    expect(fetched.json()).toMatchObject({
      recoveryId: id,
      serial: encryption.serial,
      envelopedKey: Buffer.from(StandInKm.envelopeFor(officerSpki)).toString('base64'),
      recipient: { serial: officerCertificate.serial },
    });
    const again = await bed.call('officer', 'POST', `/v1/judicial-recoveries/${id}/download`);
    expect(again.statusCode).toBe(410);
    expect(again.json().error.code).toBe('KEY_ALREADY_DOWNLOADED');

    const trail = await audit(id);
    expect(trail.map((r) => [r.actor, r.action, r.after.code ?? r.after.status])).toEqual([
      ['op-officer', 'judicial_recovery.submit', 'submitted'],
      ['op-keyAdmin', 'judicial_recovery.refuse', 'APPROVALS_MISSING'],
      ['op-officer', 'judicial_recovery.refuse', 'KEY_NOT_RELEASED'],
      ['op-keyAdmin', 'judicial_recovery.approve', 'submitted'],
      ['op-keyAdmin', 'judicial_recovery.refuse', 'APPROVAL_DUPLICATE'],
      ['op-keyAdmin2', 'judicial_recovery.approve', 'approved'],
      ['op-keyAdmin2', 'judicial_recovery.release', 'released'],
      ['op-officer2', 'judicial_recovery.refuse', 'NOT_CASE_OFFICER'],
      ['op-officer', 'judicial_recovery.download', 'downloaded'],
      ['op-officer', 'judicial_recovery.refuse', 'KEY_ALREADY_DOWNLOADED'],
    ]);
    expect(trail.every((r) => r.at instanceof Date)).toBe(true);
  });

  it('refuses the wrong roles: an entry clerk or reviewer deciding, a reviewer or key administrator recording, the officer approving', async () => {
    const { id, body } = await openCase();
    for (const who of ['clerk', 'reviewer', 'officer', 'officer2', 'admin'] as const) {
      const res = await decide(who, id, 'approve');
      expect(res.statusCode, who).toBe(403);
      expect(res.json().error.code, who).toBe('ROLE_FORBIDDEN');
    }
    for (const who of ['reviewer', 'clerk', 'keyAdmin'] as const) {
      const res = await bed.call(who, 'POST', '/v1/judicial-recoveries', body);
      expect(res.json().error.code, who).toBe('ROLE_FORBIDDEN');
    }
    const refusals = (await audit(id)).filter((r) => r.action === 'judicial_recovery.refuse');
    expect(refusals.map((r) => r.actor)).toEqual([
      'op-clerk',
      'op-reviewer',
      'op-officer',
      'op-officer2',
      'op-admin',
    ]);
    expect(refusals[2]!.after).toMatchObject({
      code: 'ROLE_FORBIDDEN',
      route: 'POST /v1/judicial-recoveries/:id/decisions',
    });
  });

  it('ends at one rejection, which needs a reason', async () => {
    const { id } = await openCase();
    await decide('keyAdmin', id, 'approve');
    expect((await decide('keyAdmin2', id, 'reject')).json().error.code).toBe('REVIEW_REASON_REQUIRED');
    const rejected = await decide(
      'keyAdmin2',
      id,
      'reject',
      'the court document does not name this certificate',
    );
    expect(rejected.json()).toMatchObject({ status: 'rejected' });
    const late = await decide('keyAdmin3', id, 'approve');
    expect(late.statusCode).toBe(409);
    expect(late.json().error.code).toBe('JUDICIAL_RECOVERY_DECIDED');
  });

  it('does not count an expired approval; its administrator may renew it', async () => {
    const { id } = await openCase();
    await decide('keyAdmin', id, 'approve');
    await bed.pool.query(
      "UPDATE judicial_recovery_decisions SET decided_at = now() - interval '73 hours' WHERE recovery_id = $1",
      [id],
    );
    const second = await decide('keyAdmin2', id, 'approve');
    expect(second.json()).toMatchObject({
      status: 'submitted',
      decisions: [
        { by: 'op-keyAdmin', expired: true },
        { by: 'op-keyAdmin2', expired: false },
      ],
    });
    expect(
      (await bed.call('keyAdmin2', 'POST', `/v1/judicial-recoveries/${id}/release`)).json().error.code,
    ).toBe('APPROVALS_MISSING');
    const renewed = await decide('keyAdmin', id, 'approve');
    expect(renewed.json()).toMatchObject({ status: 'released' });
    const approvals = (await audit(id)).filter((r) => r.action === 'judicial_recovery.approve');
    expect(approvals.map((r) => [r.actor, r.after.currentApprovals, r.after.renewed])).toEqual([
      ['op-keyAdmin', 1, false],
      ['op-keyAdmin2', 1, false],
      ['op-keyAdmin', 2, true],
    ]);
  });

  it('needs the officer’s own good signature certificate', async () => {
    const { body, officerCertificate } = await openCase();
    const foreign = await recordCertificate(bed, `resident-id:${documentNumber()}`, 'person-sign');
    const notOwn = await bed.call('officer', 'POST', '/v1/judicial-recoveries', {
      ...body,
      officerCertificate: { issuerId: foreign.issuerId, serial: foreign.serial },
    });
    expect(notOwn.json().error.code).toBe('OFFICER_CERTIFICATE_NOT_OWN');
    const encryptionAsOfficer = await bed.call('officer', 'POST', '/v1/judicial-recoveries', {
      ...body,
      officerCertificate: { issuerId: body.issuerId, serial: body.serial },
    });
    expect(encryptionAsOfficer.json().error.code).toBe('OFFICER_CERTIFICATE_NOT_GOOD');

    const { id } = (await bed.call('officer', 'POST', '/v1/judicial-recoveries', body)).json();
    await bed.pool.query("UPDATE certificates SET status = 'revoked' WHERE issuer_id = $1 AND serial = $2", [
      officerCertificate.issuerId,
      officerCertificate.serial,
    ]);
    const revoked = await decide('keyAdmin', id, 'approve');
    expect(revoked.statusCode).toBe(422);
    expect(revoked.json().error).toMatchObject({
      code: 'OFFICER_CERTIFICATE_NOT_GOOD',
      details: { status: 'revoked' },
    });
  });

  it('shows a judicial officer only their own cases, and keeps them from holder recoveries', async () => {
    const { id } = await openCase();
    expect((await bed.call('officer', 'GET', `/v1/judicial-recoveries/${id}`)).statusCode).toBe(200);
    const other = await bed.call('officer2', 'GET', `/v1/judicial-recoveries/${id}`);
    expect(other.json().error.code).toBe('JUDICIAL_RECOVERY_NOT_FOUND');
    const listed = (await bed.call('officer2', 'GET', '/v1/judicial-recoveries')).json().items;
    expect(listed.map((c: { id: string }) => c.id)).not.toContain(id);
    expect((await bed.call('keyAdmin', 'GET', '/v1/judicial-recoveries')).json().items[0].id).toBe(id);
    // The auditor follows judicial recoveries in the audit trail, not in the business records.
    expect((await bed.call('auditor', 'GET', '/v1/judicial-recoveries')).statusCode).toBe(403);
    expect((await bed.call('clerk', 'GET', '/v1/judicial-recoveries')).statusCode).toBe(403);
  });
});
