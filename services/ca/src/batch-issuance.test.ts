import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CaTestBed, createCaTestBed } from './test-support/ca-test-bed.ts';

const person = (cn: string, holderKey: string) => ({
  profile: 'person-sign',
  subject: [
    { type: 'C', value: 'CN' },
    { type: 'CN', value: cn },
  ],
  holderKey,
});

describe('CA batch issuance', () => {
  let bed: CaTestBed;
  beforeAll(async () => {
    bed = await createCaTestBed();
  });
  afterAll(() => bed.close());

  const chunk = (items: object[]) =>
    bed.instruct('/v1/instructions/issue-batch', {
      requestId: randomUUID(),
      operation: 'issue-batch',
      items,
    });

  it('issues a chunk as single issues would: refusals and a key twice answered item by item, a resent chunk with the same serials', async () => {
    const shared = await bed.holderCsr();
    const items = [
      { requestId: randomUUID(), csr: shared, ...person('甲', 'holder:a') },
      { requestId: randomUUID(), csr: await bed.holderCsr(), ...person('乙', 'holder:b') },
      { requestId: randomUUID(), csr: await bed.holderCsr(), ...person('丙', 'holder:c'), profile: 'sub-ca' },
      // The first item's key for another holder: refused as key reuse, whichever comes first.
      { requestId: randomUUID(), csr: shared, ...person('丁', 'holder:d') },
    ];
    const first = await chunk(items);
    expect(first.statusCode, first.body).toBe(200);
    const results = first.json().results;
    expect(results.map((r: { requestId: string }) => r.requestId)).toEqual(items.map((i) => i.requestId));
    expect(results[0]).toMatchObject({ issuerId: 'sub', serial: expect.any(String) });
    expect(results[1]).toMatchObject({ issuerId: 'sub', serial: expect.any(String) });
    expect(results[2].error.code).toBe('PROFILE_NOT_REQUESTABLE');
    expect(results[3].error.code).toBe('KEY_REUSED');

    const again = await chunk(items);
    expect(again.json().results).toEqual(results);

    // The ledger's answer for an item is the one a single issue gives.
    const single = await bed.instruct('/v1/instructions/issue', { ...items[1], operation: 'issue' });
    expect(single.statusCode, single.body).toBe(200);
    expect(single.json()).toMatchObject({
      issuerId: 'sub',
      serial: results[1].serial,
      chain: expect.any(Array),
    });

    for (const { serial } of results.slice(0, 2)) {
      const { rows } = await bed.db.pool.query(
        `SELECT c.status, c.der IS NOT NULL AS signed,
                (SELECT count(*)::int FROM audit_log a WHERE a.action = 'certificate.issue' AND a.subject_id = 'sub/' || c.serial) AS audits,
                (SELECT count(*)::int FROM certificate_events e WHERE e.serial = c.serial AND e.status = 'good') AS events
           FROM certificates c WHERE c.issuer_id = 'sub' AND c.serial = $1`,
        [serial],
      );
      expect(rows[0]).toEqual({ status: 'good', signed: true, audits: 1, events: 1 });
    }
  });
});
