import { parseCrl, sm2Verifier, verifyCrlSignature } from '@sm2ca/pki';
import type { KnownIssuer } from './known-issuers.ts';
import { fetchOk, ProbeFailure } from './probe-failure.ts';

/**
 * A relying party's fetch of an issuer's full CRL from its distribution point: it must parse,
 * carry the issuer's signature, be still current (before its nextUpdate) and no older than the
 * publishing cycle.
 */
export async function probeCrl(
  baseUrl: string,
  issuer: KnownIssuer,
  cycleSeconds: number,
  signal: AbortSignal,
): Promise<void> {
  const res = await fetchOk(`${baseUrl}/crl/${encodeURIComponent(issuer.id)}.crl`, signal);
  let crl: ReturnType<typeof parseCrl>;
  try {
    crl = parseCrl(new Uint8Array(await res.arrayBuffer()));
  } catch (err) {
    throw new ProbeFailure('CRL_MALFORMED', (err as Error).message);
  }
  if (!(await verifyCrlSignature(crl, issuer.spki, sm2Verifier))) {
    throw new ProbeFailure('CRL_SIGNATURE_INVALID', `the CRL of ${issuer.id} does not verify`);
  }
  const now = Date.now();
  if (crl.nextUpdate && crl.nextUpdate.getTime() < now) {
    throw new ProbeFailure('CRL_EXPIRED', `the CRL of ${issuer.id} is past its nextUpdate`);
  }
  // A minute's grace: publishing a CRL takes a moment after its thisUpdate.
  if (now - crl.thisUpdate.getTime() > (cycleSeconds + 60) * 1000) {
    throw new ProbeFailure('CRL_STALE', `the CRL of ${issuer.id} is older than its cycle`);
  }
}
