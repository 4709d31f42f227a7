import { createHash } from 'node:crypto';
import { type Static, Type } from '@sinclair/typebox';
import type { PoolClient } from '@sm2ca/store';
import { canonicalJson } from './canonical-json.ts';

/**
 * The CA-level actions under dual control (m-of-n super administrators): the RA records and
 * collects the approvals, the CA re-reads them from the database and acts. Nothing else may
 * make a certificate of the hierarchy, revoke one, or sign with a CA key outside issuance.
 */
export const caActionKinds = [
  'revoke_hierarchy_certificate',
  'rotate_ra_key',
  'create_subordinate_ca',
  'sign_with_ca_key',
  'cross_certify',
  'revoke_cross_certificate',
] as const;
export type CaActionKind = (typeof caActionKinds)[number];

/** RFC 5280 reasons for a certificate of the hierarchy: its key is compromised, or it is replaced. */
export const hierarchyRevocationReasons = ['cACompromise', 'superseded'] as const;

const IssuerId = Type.String({ pattern: '^[a-z][a-z0-9-]{1,39}$' });
const Serial = Type.String({ pattern: '^[0-9a-f]{2,42}$' });
const Base64 = (maxLength: number) =>
  Type.String({ pattern: '^[A-Za-z0-9+/]+={0,2}$', minLength: 4, maxLength });

/** What approvers approve, kind by kind; the RA completes a request (serials) before the digest is taken. */
export const CaActionParameters = {
  revoke_hierarchy_certificate: Type.Object(
    {
      /** The issuers row (its certificate) to revoke: a subordinate CA, the RA or an OCSP signer. */
      issuer: IssuerId,
      serial: Serial,
      reason: Type.Union(hierarchyRevocationReasons.map((r) => Type.Literal(r))),
    },
    { additionalProperties: false },
  ),
  rotate_ra_key: Type.Object(
    {
      /** The RA key in use, retired (its certificate revoked for `reason`) once the new one is certified. */
      retire: IssuerId,
      serial: Serial,
      reason: Type.Union(hierarchyRevocationReasons.map((r) => Type.Literal(r))),
    },
    { additionalProperties: false },
  ),
  create_subordinate_ca: Type.Object(
    {
      id: IssuerId,
      parent: IssuerId,
      commonName: Type.String({ minLength: 1, maxLength: 64 }),
      days: Type.Integer({ minimum: 1, maximum: 7300 }),
    },
    { additionalProperties: false },
  ),
  sign_with_ca_key: Type.Object(
    {
      issuer: IssuerId,
      /** The bytes the CA key signs (SM2 with SM3 under the GM default ID), base64; approvers see them. */
      data: Base64(22_000),
      purpose: Type.String({ minLength: 1, maxLength: 200 }),
    },
    { additionalProperties: false },
  ),
  cross_certify: Type.Object(
    {
      /** The root: a cross-certificate has the sub-ca profile (pathLen 0), which only the root may issue. */
      issuer: IssuerId,
      /** The other CA's own certificate (DER, base64): its subject and key are certified. */
      certificate: Base64(12_000),
      /** Its subject as text, for the approvers' eyes; the CA checks it against the certificate. */
      subject: Type.String({ minLength: 1, maxLength: 2000 }),
      days: Type.Integer({ minimum: 1, maximum: 7300 }),
    },
    { additionalProperties: false },
  ),
  revoke_cross_certificate: Type.Object(
    {
      issuer: IssuerId,
      serial: Serial,
      /** The other CA's name, for the approvers' eyes; the CA checks it against its record. */
      subject: Type.String({ minLength: 1, maxLength: 2000 }),
      reason: Type.Union(hierarchyRevocationReasons.map((r) => Type.Literal(r))),
    },
    { additionalProperties: false },
  ),
} as const;

export type CaActionParametersOf<K extends CaActionKind> = Static<(typeof CaActionParameters)[K]>;

/** SM3 over the canonical JSON of kind and parameters: what an approval is bound to. */
export function caActionDigest(kind: CaActionKind, parameters: unknown): Buffer {
  return createHash('sm3').update(canonicalJson({ kind, parameters })).digest();
}

/**
 * SQL: the operator row `o` may approve CA actions (an enabled super administrator). The one place
 * that knows how roles are stored, for the RA's count of approvers and for the CA's re-check.
 */
export const superAdminSql = (o: string) =>
  `(${o}.disabled_at IS NULL AND EXISTS (SELECT FROM operator_roles r WHERE r.operator_id = ${o}.id AND r.role = 'super_admin'))`;

export interface CaActionStanding {
  approvals: number;
  rejections: number;
  /** Approvals that do not count (the requester's, another digest's, late, not a super administrator's). */
  void: number;
}

/**
 * The decisions on an action that count: by an enabled super administrator other than the
 * requester, for the action's digest, before it expired. Read by the RA to decide when to send the
 * action and by the CA to decide whether to carry it out.
 */
export async function caActionStanding(
  client: Pick<PoolClient, 'query'>,
  actionId: string,
): Promise<CaActionStanding> {
  const { rows } = await client.query(
    `SELECT count(*) FILTER (WHERE counts AND d.decision = 'approve')::int AS approvals,
            count(*) FILTER (WHERE counts AND d.decision = 'reject')::int AS rejections,
            count(*) FILTER (WHERE NOT counts)::int AS void
       FROM (SELECT d.decision,
                    (d.approver_id <> a.requested_by AND d.digest = a.digest AND d.decided_at < a.expires_at
                     AND ${superAdminSql('o')}) AS counts
               FROM ca_action_approvals d
               JOIN ca_actions a ON a.id = d.action_id
               JOIN operators o ON o.id = d.approver_id
              WHERE d.action_id = $1) d`,
    [actionId],
  );
  return rows[0] as CaActionStanding;
}
