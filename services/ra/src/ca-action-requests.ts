import { Type } from '@sinclair/typebox';
import { nameToString, parseCertificate } from '@sm2ca/pki';
import { AppError, type CaActionKind, CaActionParameters, hierarchyRevocationReasons } from '@sm2ca/platform';
import type { PoolClient } from '@sm2ca/store';
import { literals } from './ra-context.ts';

const { id: IssuerIdSchema, commonName, days } = CaActionParameters.create_subordinate_ca.properties;

/** A cross-certificate is renewed yearly unless asked otherwise: the other CA's standing is looked at again. */
const CROSS_CERTIFICATE_DAYS = 365;

/** What a super administrator asks for; the RA adds what pins it down (serials, defaults) before the digest. */
export const CaActionRequestBody = Type.Union([
  Type.Object(
    {
      kind: Type.Literal('revoke_hierarchy_certificate'),
      parameters: Type.Object(
        {
          issuer: Type.String({
            ...IssuerIdSchema,
            description: 'the issuers row whose certificate is revoked',
          }),
          reason: literals(hierarchyRevocationReasons),
        },
        { additionalProperties: false },
      ),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      kind: Type.Literal('rotate_ra_key'),
      parameters: Type.Optional(
        Type.Object(
          {
            reason: Type.Optional(
              literals(hierarchyRevocationReasons, {
                description:
                  'why the old RA certificate is revoked: superseded (default) or a compromised key',
              }),
            ),
          },
          { additionalProperties: false },
        ),
      ),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      kind: Type.Literal('create_subordinate_ca'),
      parameters: Type.Object(
        {
          id: IssuerIdSchema,
          parent: Type.Optional(IssuerIdSchema),
          commonName,
          days: Type.Optional(days),
        },
        { additionalProperties: false },
      ),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    { kind: Type.Literal('sign_with_ca_key'), parameters: CaActionParameters.sign_with_ca_key },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      kind: Type.Literal('cross_certify'),
      parameters: Type.Object(
        {
          issuer: Type.Optional(IssuerIdSchema),
          certificate: CaActionParameters.cross_certify.properties.certificate,
          days: Type.Optional(days),
        },
        { additionalProperties: false },
      ),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      kind: Type.Literal('revoke_cross_certificate'),
      parameters: Type.Object(
        {
          issuer: Type.Optional(IssuerIdSchema),
          serial: CaActionParameters.revoke_cross_certificate.properties.serial,
          reason: literals(hierarchyRevocationReasons),
        },
        { additionalProperties: false },
      ),
    },
    { additionalProperties: false },
  ),
]);
export type CaActionRequest = typeof CaActionRequestBody.static;

interface HierarchyMember {
  id: string;
  kind: string;
  serial: string;
  status: string | undefined;
}

async function hierarchyMember(client: PoolClient, id: string): Promise<HierarchyMember> {
  const { rows } = await client.query('SELECT id, kind, parent_id, certificate FROM issuers WHERE id = $1', [
    id,
  ]);
  const row = rows[0];
  if (!row) throw new AppError('ISSUER_UNKNOWN', `no issuer ${id} in the CA hierarchy`, 404);
  let serial: string;
  try {
    serial = Buffer.from(parseCertificate(new Uint8Array(row.certificate)).serialNumber).toString('hex');
  } catch {
    throw new AppError(
      'ISSUER_CERTIFICATE_UNREADABLE',
      `the certificate of issuer ${id} cannot be read`,
      409,
    );
  }
  const status = await client.query('SELECT status FROM certificates WHERE issuer_id = $1 AND serial = $2', [
    row.parent_id ?? row.id,
    serial,
  ]);
  return { id, kind: row.kind, serial, status: status.rows[0]?.status };
}

/** The RA signs with its newest key (ra-signer): the one a rotation retires. */
async function raKeyInUse(client: PoolClient): Promise<string | undefined> {
  const { rows } = await client.query(
    "SELECT id FROM issuers WHERE kind = 'ra' ORDER BY created_at DESC, id DESC LIMIT 1",
  );
  return rows[0]?.id;
}

function requireKind(member: HierarchyMember, kinds: readonly string[], what: string): void {
  if (!kinds.includes(member.kind)) {
    throw new AppError(
      'CA_ACTION_WRONG_ISSUER',
      `issuer ${member.id} is a ${member.kind} key; ${what} needs one of: ${kinds.join(', ')}`,
      422,
      { kind: member.kind },
    );
  }
}

function requireGood(member: HierarchyMember): void {
  if (member.status !== 'good') {
    throw new AppError(
      'CA_ACTION_ISSUER_NOT_GOOD',
      `the certificate of issuer ${member.id} is ${member.status ?? 'not on record'}`,
      409,
      { status: member.status ?? null },
    );
  }
}

/**
 * The parameters approvers will approve, complete: the serial of the certificate to revoke or
 * retire (so a later certificate under the same name is not what gets approved), defaults filled in.
 */
export async function completeCaAction(
  client: PoolClient,
  request: CaActionRequest,
  defaults: { subordinateDays: number },
): Promise<{ kind: CaActionKind; parameters: Record<string, unknown> }> {
  switch (request.kind) {
    case 'revoke_hierarchy_certificate': {
      const member = await hierarchyMember(client, request.parameters.issuer);
      requireKind(member, ['subordinate', 'ra', 'ocsp'], 'revocation under dual control');
      requireGood(member);
      if (member.kind === 'ra' && member.id === (await raKeyInUse(client))) {
        throw new AppError(
          'RA_KEY_IN_USE',
          `issuer ${member.id} is the RA key in use: revoked alone, the RA could not instruct the CA again (not even a rotation); ask for rotate_ra_key with this reason instead`,
          409,
        );
      }
      return { kind: request.kind, parameters: { ...request.parameters, serial: member.serial } };
    }
    case 'rotate_ra_key': {
      const inUse = await raKeyInUse(client);
      if (!inUse) throw new AppError('RA_KEY_MISSING', 'no RA key is registered', 409);
      const member = await hierarchyMember(client, inUse);
      requireGood(member);
      return {
        kind: request.kind,
        parameters: {
          retire: member.id,
          serial: member.serial,
          reason: request.parameters?.reason ?? 'superseded',
        },
      };
    }
    case 'create_subordinate_ca': {
      const { id } = request.parameters;
      const taken = await client.query('SELECT 1 FROM issuers WHERE id = $1 OR key_label = $1', [id]);
      if (taken.rowCount) throw new AppError('ISSUER_EXISTS', `issuer or key label ${id} exists`, 409);
      // A subordinate CA's certificate has pathLen 0: only the root can issue one.
      const parent = await hierarchyMember(client, request.parameters.parent ?? 'root');
      requireKind(parent, ['root'], 'a subordinate CA');
      requireGood(parent);
      return {
        kind: request.kind,
        parameters: {
          ...request.parameters,
          parent: parent.id,
          days: request.parameters.days ?? defaults.subordinateDays,
        },
      };
    }
    case 'sign_with_ca_key': {
      const member = await hierarchyMember(client, request.parameters.issuer);
      requireKind(member, ['root', 'subordinate'], 'a CA signature');
      requireGood(member);
      return { kind: request.kind, parameters: request.parameters };
    }
    case 'cross_certify': {
      const member = await hierarchyMember(client, request.parameters.issuer ?? 'root');
      requireKind(member, ['root'], 'a cross-certificate');
      requireGood(member);
      let other: ReturnType<typeof parseCertificate>;
      try {
        other = parseCertificate(Buffer.from(request.parameters.certificate, 'base64'));
      } catch {
        throw new AppError('CROSS_CERTIFICATE_UNREADABLE', 'certificate: not a DER X.509 certificate', 422);
      }
      const days = request.parameters.days ?? CROSS_CERTIFICATE_DAYS;
      // The approvers see whose key they certify, not only base64.
      return {
        kind: request.kind,
        parameters: { ...request.parameters, issuer: member.id, days, subject: nameToString(other.subject) },
      };
    }
    case 'revoke_cross_certificate': {
      const issuer = request.parameters.issuer ?? 'root';
      const { rows } = await client.query(
        `SELECT subject, status FROM certificates
          WHERE issuer_id = $1 AND serial = $2 AND profile = 'sub-ca' AND request_id LIKE 'ca-action:%'`,
        [issuer, request.parameters.serial],
      );
      if (!rows[0]) {
        throw new AppError(
          'CROSS_CERTIFICATE_UNKNOWN',
          `no cross-certificate ${request.parameters.serial} from issuer ${issuer}`,
          404,
        );
      }
      if (rows[0].status !== 'good') {
        throw new AppError('CA_ACTION_ISSUER_NOT_GOOD', `the cross-certificate is ${rows[0].status}`, 409, {
          status: rows[0].status,
        });
      }
      return { kind: request.kind, parameters: { ...request.parameters, issuer, subject: rows[0].subject } };
    }
  }
}
