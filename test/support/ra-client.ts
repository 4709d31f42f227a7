import type { Stack } from './sm2ca-stack.ts';
import { addStackOperator } from './stack-operators.ts';

/** Operators of a running stack, and the RA API as they call it. */
export async function raOperators(stack: Stack) {
  const token: Record<string, string> = {};
  for (const [name, role] of [
    ['clerk', 'entry-clerk'],
    ['reviewer', 'reviewer'],
    ['maker', 'certificate-maker'],
  ] as const) {
    token[name] = await addStackOperator(stack, name, [role]);
  }
  const ra = async (
    method: string,
    path: string,
    as: 'clerk' | 'reviewer' | 'maker' | undefined,
    body?: unknown,
  ) => {
    const res = await fetch(`${stack.url.ra}${path}`, {
      method,
      headers: {
        ...(body ? { 'content-type': 'application/json' } : {}),
        ...(as ? { authorization: `Bearer ${token[as]}` } : {}),
      },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, text, json: () => JSON.parse(text) };
  };
  return {
    ra,
    /** An approved and issued application for the CSR; the download code comes back with it. */
    async issue(
      csr: string,
      holder: Record<string, unknown>,
      profile = 'person-sign',
      holderType = 'person',
    ) {
      const entered = await ra('POST', '/v1/applications', 'clerk', {
        holderType,
        profile,
        holder,
        csr,
        publishConsent: false,
      });
      if (entered.status !== 201) throw new Error(`submit: ${entered.text}`);
      const id = entered.json().id;
      const reviewed = await ra('POST', `/v1/applications/${id}/review`, 'reviewer', { decision: 'approve' });
      if (reviewed.status !== 200) throw new Error(`review: ${reviewed.text}`);
      const issued = await ra('POST', `/v1/applications/${id}/issue`, 'maker');
      if (issued.status !== 201) throw new Error(`issue: ${issued.text}`);
      return issued.json() as {
        issuerId: string;
        serial: string;
        download: { reference: string; code: string };
      };
    },
    /** Revocation requested by the clerk and approved by the reviewer; resolves once the CA has done it. */
    async revoke(issuerId: string, serial: string, reason = 'keyCompromise') {
      const requested = await ra('POST', '/v1/revocations', 'clerk', {
        issuerId,
        serial,
        reason,
        requestedBy: 'e2e',
      });
      if (requested.status !== 201) throw new Error(`revocation: ${requested.text}`);
      const approved = await ra('POST', `/v1/revocations/${requested.json().id}/review`, 'reviewer', {
        decision: 'approve',
      });
      if (approved.status !== 200) throw new Error(`revocation review: ${approved.text}`);
      return approved.json() as { decidedAt: string; doneAt: string };
    },
  };
}

export type RaOperators = Awaited<ReturnType<typeof raOperators>>;
