import type { Device } from '@sm2ca/device';
import { type Actor, AppError, type Config } from '@sm2ca/platform';
import type { PoolClient } from '@sm2ca/store';
import { type Issuer, type IssuerKind, storedSerial } from './issuers.ts';

/** What a CA action works with: the transaction that marks it executed, the device, who acts. */
export interface PerformContext {
  actionId: string;
  client: PoolClient;
  device: Device;
  config: Config;
  actor: Actor;
}

export interface Performed {
  result: Record<string, unknown>;
  /** Whether the OCSP signers should be looked at once this commits (a signer or a CA changed). */
  signersChanged: boolean;
}

/** The issuers row an action names: of one of `kinds`, and still the certificate approved when `serial` is given. */
export function member(
  issuers: Map<string, Issuer>,
  id: string,
  kinds: readonly IssuerKind[],
  serial?: string,
): Issuer {
  const issuer = issuers.get(id);
  if (!issuer || !kinds.includes(issuer.kind)) {
    throw new AppError(
      'CA_ACTION_STALE',
      `issuer ${id} is not a ${kinds.join(' or ')} of the hierarchy`,
      409,
    );
  }
  // What was approved is one certificate: a later one under the same name was not.
  if (serial !== undefined && storedSerial(issuer.certificate) !== serial) {
    throw new AppError('CA_ACTION_STALE', `the certificate of issuer ${id} is no longer ${serial}`, 409);
  }
  return issuer;
}

/** A certificate an action made, as its result shows it. */
export const certified = (issuer: Issuer) => ({
  issuer: issuer.id,
  serial: storedSerial(issuer.certificate),
  certificate: Buffer.from(issuer.certificate.der).toString('base64'),
});
