import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadIssuers, requireUsableIssuer } from './issuers.ts';
import { type CaTestBed, createCaTestBed } from './test-support/ca-test-bed.ts';

describe('CA: no signature under an issuer that is revoked, suspended or expired', () => {
  let bed: CaTestBed;
  beforeAll(async () => {
    bed = await createCaTestBed();
  });
  afterAll(() => bed.close());

  const setStatus = (id: string, status: 'good' | 'revoked' | 'hold') =>
    bed.db.pool.query(
      `UPDATE certificates SET status = $2,
              revoked_at = CASE WHEN $2 = 'good' THEN NULL ELSE now() END,
              revocation_reason = CASE WHEN $2 = 'good' THEN NULL ELSE 'cACompromise' END
        WHERE request_id = $1`,
      [`ceremony:${id}`, status],
    );
  const issue = async () =>
    bed.instruct('/v1/instructions/issue', {
      operation: 'issue',
      profile: 'person-sign',
      csr: await bed.holderCsr(),
      subject: [
        { type: 'C', value: 'CN' },
        { type: 'CN', value: '赵六' },
      ],
    });
  const goodCertificates = async () =>
    Number(
      (
        await bed.db.pool.query(
          "SELECT count(*) FROM certificates WHERE status = 'good' AND request_id NOT LIKE 'ceremony:%'",
        )
      ).rows[0].count,
    );

  it('refuses while the issuing CA or the root above it is revoked or suspended', async () => {
    expect((await issue()).statusCode).toBe(200);
    const before = await goodCertificates();
    for (const [id, status, why] of [
      ['sub', 'revoked', 'revoked'],
      ['sub', 'hold', 'suspended'],
      ['root', 'revoked', 'revoked'],
    ] as const) {
      await setStatus(id, status);
      const res = await issue();
      expect(res.statusCode, res.body).toBe(409);
      expect(res.json().error).toMatchObject({
        code: 'ISSUER_NOT_USABLE',
        details: { issuerId: 'sub', certificateOf: id, why },
      });
      await setStatus(id, 'good');
    }
    expect(await goodCertificates()).toBe(before);
    expect((await issue()).statusCode).toBe(200);
  });

  it('refuses once the issuing CA certificate is past its notAfter', async () => {
    const issuers = await loadIssuers(bed.db.pool);
    const sub = issuers.get('sub')!;
    await expect(requireUsableIssuer(bed.db.pool, issuers, 'sub')).resolves.toBeUndefined();
    const after = new Date(sub.certificate.notAfter.getTime() + 1000);
    await expect(requireUsableIssuer(bed.db.pool, issuers, 'sub', after)).rejects.toMatchObject({
      code: 'ISSUER_NOT_USABLE',
      status: 409,
      details: { certificateOf: 'sub', why: 'outside its validity period' },
    });
  });
});
