import { describe, expect, it } from 'vitest';
import { maxAutomaticAttempts } from './issue-failure.ts';
import { useRaTestBed } from './test-support/ra-test-bed.ts';

const HOUR_MS = 3_600_000;
const person = { commonName: '张三', identity: { residentId: '11010519491231002X' } };

describe('RA issuance retrier', () => {
  const bed = useRaTestBed();

  async function approved(): Promise<string> {
    const submitted = await bed.call('clerk', 'POST', '/v1/applications', {
      holderType: 'person',
      profile: 'person-sign',
      holder: person,
      csr: bed.hierarchy.sm2Csr(),
      publishConsent: false,
    });
    expect(submitted.statusCode, submitted.body).toBe(201);
    const { id } = submitted.json();
    const reviewed = await bed.call('reviewer', 'POST', `/v1/applications/${id}/review`, {
      decision: 'approve',
    });
    expect(reviewed.statusCode).toBe(200);
    return id;
  }

  const issueByHand = (id: string) => bed.call('maker', 'POST', `/v1/applications/${id}/issue`);
  const view = async (id: string) => (await bed.call('reviewer', 'GET', `/v1/applications/${id}`)).json();
  const requestIdOf = async (id: string) =>
    (await bed.pool.query('SELECT ca_request_id FROM applications WHERE id = $1', [id])).rows[0]
      .ca_request_id as string;
  const certificatesOf = async (requestId: string) =>
    (await bed.pool.query('SELECT serial FROM certificates WHERE request_id = $1', [requestId])).rows;
  const inAnHour = () => new Date(Date.now() + HOUR_MS);

  it('completes an issuance whose CA was down, with the same request id and one certificate', async () => {
    const id = await approved();
    await bed.ca.close();
    try {
      const failed = await issueByHand(id);
      expect(failed.statusCode).toBe(503);
      expect(failed.json().error.code).toBe('CA_UNAVAILABLE');
      const waiting = await view(id);
      expect(waiting).toMatchObject({
        status: 'approved',
        issueAttempts: 1,
        issueError: { code: 'CA_UNAVAILABLE' },
      });
      expect(Date.parse(waiting.nextIssueAttemptAt)).toBeGreaterThan(Date.now());
      // Not due yet: the retrier leaves it alone.
      expect(await bed.retrier().runOnce()).toBe(0);
    } finally {
      await bed.ca.listen(bed.caPort);
    }
    const received = bed.ca.received.length;
    expect(await bed.retrier().runOnce(inAnHour())).toBe(1);

    const requestId = await requestIdOf(id);
    expect(bed.ca.received.slice(received).map((i) => i.requestId)).toEqual([requestId]);
    const issued = await view(id);
    expect(issued).toMatchObject({ status: 'issued', issuedBy: null, nextIssueAttemptAt: null });
    const certificates = await certificatesOf(requestId);
    expect(certificates).toEqual([{ serial: issued.serial }]);
    const audit = await bed.pool.query(
      "SELECT action, actor, actor_role FROM audit_log WHERE subject_type = 'application' AND subject_id = $1 ORDER BY id",
      [id],
    );
    expect(audit.rows.slice(-3).map((r) => `${r.action} by ${r.actor} (${r.actor_role})`)).toEqual([
      'application.issue_request by op-maker (certificate_maker)',
      'application.issue_fail by op-maker (certificate_maker)',
      'application.issue by ra (issue_retrier)',
    ]);
    // Nobody saw a download code yet: the maker hands one out for the issued application.
    expect((await bed.call('maker', 'POST', `/v1/applications/${id}/download-code`)).statusCode).toBe(201);
    expect(await bed.retrier().runOnce(inAnHour())).toBe(0);
  });

  it('ends an application the CA refuses for good as failed, the refusal visible, and never retries it', async () => {
    const id = await approved();
    bed.ca.failures.push({
      status: 422,
      body: {
        error: { code: 'CERTIFICATE_LINT_FAILED', message: 'the certificate would break its profile' },
      },
    });
    const refused = await issueByHand(id);
    expect(refused.statusCode).toBe(502);
    expect(await view(id)).toMatchObject({
      status: 'failed',
      issueAttempts: 1,
      issueError: { code: 'CA_REFUSED', details: { caCode: 'CERTIFICATE_LINT_FAILED', caStatus: 422 } },
      nextIssueAttemptAt: null,
    });
    const received = bed.ca.received.length;
    await bed.retrier().runOnce(inAnHour());
    expect(bed.ca.received.length).toBe(received);
    const again = await issueByHand(id);
    expect(again.statusCode).toBe(409);
    expect(again.json().error).toMatchObject({
      code: 'APPLICATION_NOT_APPROVED',
      details: { status: 'failed' },
    });
    const listed = await bed.call('reviewer', 'GET', '/v1/applications?status=failed');
    expect(listed.json().items.map((a: { id: string }) => a.id)).toContain(id);
  });

  it('backs off on passing failures, stops after the last automatic attempt and leaves the maker a retry', async () => {
    const id = await approved();
    const unavailable = {
      status: 503,
      body: { error: { code: 'DEVICE_UNAVAILABLE', message: 'the CA key is not reachable' } },
    };
    bed.ca.failures.push(unavailable);
    expect((await issueByHand(id)).statusCode).toBe(502);
    let previous = Date.parse((await view(id)).nextIssueAttemptAt);
    let delay = 0;
    for (let attempt = 2; attempt <= maxAutomaticAttempts; attempt++) {
      bed.ca.failures.push(unavailable);
      expect(await bed.retrier().runOnce(new Date(previous))).toBe(1);
      const next = (await view(id)).nextIssueAttemptAt;
      if (attempt < maxAutomaticAttempts) {
        expect(Date.parse(next) - previous).toBeGreaterThanOrEqual(delay);
        delay = Date.parse(next) - previous;
        previous = Date.parse(next);
      }
    }
    // Doubling from half a minute, capped at an hour.
    expect(delay).toBe(HOUR_MS);
    const exhausted = await view(id);
    expect(exhausted).toMatchObject({
      status: 'approved',
      issueAttempts: maxAutomaticAttempts,
      issueError: { code: 'CA_REFUSED', details: { caCode: 'DEVICE_UNAVAILABLE' } },
      nextIssueAttemptAt: null,
    });
    expect(await bed.retrier().runOnce(new Date(Date.now() + 1000 * HOUR_MS))).toBe(0);
    const byHand = await issueByHand(id);
    expect(byHand.statusCode, byHand.body).toBe(201);
    const requestId = await requestIdOf(id);
    expect(
      new Set(bed.ca.received.filter((i) => i.requestId === requestId).map((i) => i.requestId)).size,
    ).toBe(1);
    expect(await certificatesOf(requestId)).toHaveLength(1);
  });

  it('gives each due application to one replica, and takes over one whose RA stopped mid-call', async () => {
    const ids = [await approved(), await approved(), await approved()];
    await bed.ca.close();
    try {
      for (const id of ids) expect((await issueByHand(id)).statusCode).toBe(503);
    } finally {
      await bed.ca.listen(bed.caPort);
    }
    // Claimed by a maker whose RA stopped before the CA answered: due once the claim's lease ends.
    const stopped = await approved();
    await bed.pool.query(
      "UPDATE applications SET ca_request_id = gen_random_uuid()::text, next_issue_attempt_at = now() + interval '2 minutes' WHERE id = $1",
      [stopped],
    );
    ids.push(stopped);
    const received = bed.ca.received.length;
    const sent = await Promise.all(
      [bed.retrier(), bed.retrier(), bed.retrier()].map((r) => r.runOnce(inAnHour())),
    );
    expect(sent.reduce((a, b) => a + b)).toBe(ids.length);
    const requestIds = await Promise.all(ids.map(requestIdOf));
    expect(
      bed.ca.received
        .slice(received)
        .map((i) => i.requestId)
        .sort(),
    ).toEqual([...requestIds].sort());
    for (const [i, id] of ids.entries()) {
      expect((await view(id)).status).toBe('issued');
      expect(await certificatesOf(requestIds[i]!)).toHaveLength(1);
    }
  });
});
