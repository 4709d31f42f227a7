import { describe, expect, it } from 'vitest';
import { useRaTestBed } from './test-support/ra-test-bed.ts';

const zhang = { commonName: '张三', identity: { residentId: '11010519491231002X' } };
const li = { commonName: '李四', identity: { residentId: '110101198001010010' } };

describe('RA key reuse', () => {
  // Holders bring their encryption keys here, so an encryption request can reuse a signature key.
  const bed = useRaTestBed({ allowHolderEncryptionKeys: true });

  const submit = (csr: string, holder: object, profile = 'person-sign') =>
    bed.call('clerk', 'POST', '/v1/applications', {
      holderType: 'person',
      profile,
      holder,
      csr,
      publishConsent: false,
    });
  const approve = (id: string) =>
    bed.call('reviewer', 'POST', `/v1/applications/${id}/review`, { decision: 'approve' });

  async function issue(csr: string, holder: object, profile = 'person-sign') {
    const submitted = await submit(csr, holder, profile);
    expect(submitted.statusCode, submitted.body).toBe(201);
    const { id } = submitted.json();
    expect((await approve(id)).statusCode).toBe(200);
    const issued = await bed.call('maker', 'POST', `/v1/applications/${id}/issue`);
    expect(issued.statusCode, issued.body).toBe(201);
    return id as string;
  }

  it('refuses at entry a key certified to another holder or for signatures, and renews for its holder', async () => {
    const csr = bed.hierarchy.sm2Csr();
    await issue(csr, zhang);
    const before = await bed.pool.query('SELECT count(*)::int AS n FROM applications');

    const other = await submit(csr, li);
    expect(other.statusCode).toBe(409);
    expect(other.json().error).toMatchObject({ code: 'KEY_REUSED', details: { reason: 'another-holder' } });
    const encrypt = await submit(csr, zhang, 'person-encrypt');
    expect(encrypt.statusCode).toBe(409);
    expect(encrypt.json().error).toMatchObject({
      code: 'KEY_REUSED',
      details: { reason: 'another-purpose', certifiedPurpose: 'signature' },
    });
    const after = await bed.pool.query('SELECT count(*)::int AS n FROM applications');
    expect(after.rows[0].n).toBe(before.rows[0].n);

    await issue(csr, zhang);
  });

  it('refuses at approval a key certified to another holder since entry', async () => {
    const csr = bed.hierarchy.sm2Csr();
    const waiting = await submit(csr, li);
    expect(waiting.statusCode).toBe(201);
    await issue(csr, zhang);
    const res = await approve(waiting.json().id);
    expect(res.statusCode).toBe(409);
    expect(res.json().error.code).toBe('KEY_REUSED');
    const row = await bed.pool.query('SELECT status FROM applications WHERE id = $1', [waiting.json().id]);
    expect(row.rows[0].status).toBe('submitted');
  });

  it("keeps the CA's KEY_REUSED when the key was taken between approval and issuance", async () => {
    const submitted = await submit(bed.hierarchy.sm2Csr(), li);
    const { id } = submitted.json();
    await approve(id);
    bed.ca.failures.push({
      status: 409,
      body: {
        error: {
          code: 'KEY_REUSED',
          message: 'this public key is already certified to another holder',
          details: { reason: 'another-holder' },
        },
      },
    });
    const res = await bed.call('maker', 'POST', `/v1/applications/${id}/issue`);
    expect(res.statusCode).toBe(409);
    expect(res.json().error).toMatchObject({ code: 'KEY_REUSED', details: { reason: 'another-holder' } });
  });
});
