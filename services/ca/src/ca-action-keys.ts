import { AppError, type CaActionParametersOf } from '@sm2ca/platform';
import { certified, member, type PerformContext, type Performed } from './ca-action-context.ts';
import { revoke } from './ca-action-revocations.ts';
import { loadIssuers, requireUsableIssuer } from './issuers.ts';
import { ceremonySteps, createIssuer } from './key-ceremony.ts';

/** A new RA key in the device, certified by the old one's issuer; the old certificate is revoked (superseded, or its key compromised). */
export async function rotateRaKey(
  ctx: PerformContext,
  p: CaActionParametersOf<'rotate_ra_key'>,
): Promise<Performed> {
  const issuers = await loadIssuers(ctx.client);
  const old = member(issuers, p.retire, ['ra'], p.serial);
  const newest = [...issuers.values()].filter((i) => i.kind === 'ra').at(-1);
  if (newest?.id !== old.id) {
    throw new AppError('CA_ACTION_STALE', `the RA key in use is ${newest?.id}, not ${old.id}`, 409);
  }
  const parentId = old.parentId as string;
  await requireUsableIssuer(ctx.client, issuers, parentId);
  const template = ceremonySteps(ctx.config).find((s) => s.kind === 'ra');
  if (!template) throw new Error('the key ceremony has no RA step');
  let n = 2;
  while ([...issuers.values()].some((i) => i.id === `ra-${n}` || i.keyLabel === `ra-${n}`)) n++;
  const created = await createIssuer(
    (work) => work(ctx.client),
    ctx.device,
    ctx.config,
    issuers,
    { ...template, id: `ra-${n}`, keyLabel: `ra-${n}`, parentId, commonName: `${template.commonName} ${n}` },
    ctx.actor,
  );
  const retired = await revoke(ctx, old, p.reason);
  return { result: { ...certified(created), retired }, signersChanged: false };
}

/** A new CA key in the device with a certificate from its parent, recorded as an issuer like the ceremony's. */
export async function createSubordinateCa(
  ctx: PerformContext,
  p: CaActionParametersOf<'create_subordinate_ca'>,
): Promise<Performed> {
  const issuers = await loadIssuers(ctx.client);
  if ([...issuers.values()].some((i) => i.id === p.id || i.keyLabel === p.id)) {
    throw new AppError('CA_ACTION_STALE', `issuer or key label ${p.id} exists already`, 409);
  }
  member(issuers, p.parent, ['root']);
  await requireUsableIssuer(ctx.client, issuers, p.parent);
  // A key under this label that no issuer owns is not adopted: a subordinate CA starts from a fresh key.
  if (await ctx.device.hasKey(p.id)) {
    throw new AppError('CA_ACTION_STALE', `the device already holds a key labelled ${p.id}`, 409);
  }
  const created = await createIssuer(
    (work) => work(ctx.client),
    ctx.device,
    ctx.config,
    issuers,
    {
      id: p.id,
      kind: 'subordinate',
      parentId: p.parent,
      profile: 'sub-ca',
      keyLabel: p.id,
      commonName: p.commonName,
      days: p.days,
    },
    ctx.actor,
  );
  return { result: certified(created), signersChanged: true };
}
