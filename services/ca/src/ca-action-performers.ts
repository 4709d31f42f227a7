import type { CaActionKind, CaActionParametersOf } from '@sm2ca/platform';
import type { PerformContext, Performed } from './ca-action-context.ts';
import { createSubordinateCa, rotateRaKey } from './ca-action-keys.ts';
import { revokeCrossCertificate, revokeHierarchyCertificate } from './ca-action-revocations.ts';
import { crossCertify, signWithCaKey } from './ca-action-signatures.ts';

type Performer<K extends CaActionKind> = (
  ctx: PerformContext,
  parameters: CaActionParametersOf<K>,
) => Promise<Performed>;

/** What each kind of CA action does once the CA has checked its approvals. */
export const caActionPerformers: { [K in CaActionKind]: Performer<K> } = {
  revoke_hierarchy_certificate: revokeHierarchyCertificate,
  rotate_ra_key: rotateRaKey,
  create_subordinate_ca: createSubordinateCa,
  sign_with_ca_key: signWithCaKey,
  cross_certify: crossCertify,
  revoke_cross_certificate: revokeCrossCertificate,
};
