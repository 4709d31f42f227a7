import { type Static, Type } from '@sinclair/typebox';
import { sm2Verifier } from '@sm2ca/pki';
import {
  type Actor,
  AppError,
  allowedTo,
  type HttpServer,
  recordAudit,
  refuseKeyReuse,
  withExample,
  workingDayDeadline,
} from '@sm2ca/platform';
import { type PoolClient, withTransaction } from '@sm2ca/store';
import { applicationExample } from './api-examples.ts';
import { ApplicationView, readApplication } from './application-view.ts';
import { templateForApplication } from './certificate-templates.ts';
import { encryptionTemplateOf } from './encryption-profiles.ts';
import { csrKeyBinding, verifiedCsr } from './holder-csr.ts';
import { type Holder, HolderSchema, vetHolder } from './holder-identity.ts';
import { actorOf, type RaContext } from './ra-context.ts';
import {
  type ReplacedCertificate,
  type ReplacementKind,
  replaceableCertificate,
} from './replaced-certificate.ts';

/** As for a new application: decided, and the applicant told, within two working days. */
const decisionWorkingDays = 2;

const Serial = Type.String({ pattern: '^[0-9A-Fa-f:]{1,64}$', description: 'hex, colons allowed' });
const Csr = Type.String({
  minLength: 1,
  maxLength: 16_384,
  description: 'PKCS#10 request, PEM or base64 DER, signed with the GM default SM2 ID',
});
const DeskHolder = Type.Optional(
  Type.Object(
    { ...HolderSchema.properties },
    {
      additionalProperties: false,
      description:
        "the holder as checked at the desk and entered again; must name the same holder (holder key) as the current certificate's application",
    },
  ),
);

const RenewalBody = Type.Object(
  {
    issuerId: Type.String({ minLength: 1, maxLength: 128 }),
    serial: Serial,
    csr: Type.String({
      ...Csr,
      description:
        "the holder's PKCS#10 request: for the current key (same-key renewal, where the profile allows it: the request " +
        'itself is then signed by the current key) or a new one; PEM or base64 DER, GM default SM2 ID',
    }),
    currentKeySignature: Type.Optional(
      Type.String({
        pattern: '^[A-Za-z0-9+/]+={0,2}$',
        maxLength: 200,
        description:
          "for a new key: the holder's SM2 signature (DER, base64, GM default ID) over the request's DER bytes by the " +
          "current certificate's key, verified here and recorded as the renewal's evidence of identity",
      }),
    ),
    holder: DeskHolder,
  },
  { additionalProperties: false },
);

const RekeyBody = Type.Object(
  {
    issuerId: Type.String({ minLength: 1, maxLength: 128 }),
    serial: Serial,
    csr: Type.String({ ...Csr, description: `${Csr.description}; for a new key pair` }),
    holder: Type.Object(
      { ...HolderSchema.properties },
      {
        additionalProperties: false,
        description:
          'the holder as checked at the desk: a compromised key vouches for nobody. Must name the same holder as the current certificate',
      },
    ),
  },
  { additionalProperties: false },
);

const renewalExample = {
  issuerId: 'sub',
  serial: '047486ac30b0188b29c85a61320b67cb',
  csr: '-----BEGIN CERTIFICATE REQUEST-----\nMIIBFDCBuwIBADAo…\n-----END CERTIFICATE REQUEST-----\n',
};

const replacementExample = (kind: 'renewal' | 'rekey'): Static<typeof ApplicationView> => ({
  ...applicationExample,
  kind,
  status: 'submitted',
  reviewedBy: null,
  reviewedAt: null,
  replaces: {
    issuerId: 'sub',
    serial: '047486ac30b0188b29c85a61320b67cb',
    supersede: 'revoke',
    holderEvidence: { method: kind === 'rekey' ? 'desk' : 'current-key', sameKey: false },
  },
});

interface ReplacementEntry {
  kind: ReplacementKind;
  issuerId: string;
  serial: string;
  csr: string;
  currentKeySignature?: string | undefined;
  holder?: Holder | undefined;
}

/**
 * What a template allows at renewal: migrations/0017 seeds one row per built-in profile, and an
 * approval keeps the row of its template's name in step with the newest approved version.
 */
async function profilePolicy(
  client: PoolClient,
  template: string,
): Promise<{ sameKeyRenewal: boolean; supersede: 'revoke' | 'expire' }> {
  const { rows } = await client.query(
    'SELECT same_key_renewal, supersede FROM profile_lifecycle WHERE profile = $1',
    [template],
  );
  if (!rows[0]) {
    throw new AppError('PROFILE_NOT_RENEWABLE', `template ${template} has no renewal policy`, 422, {
      profile: template,
    });
  }
  return { sameKeyRenewal: rows[0].same_key_renewal, supersede: rows[0].supersede };
}

/**
 * How the holder was identified, refused when not well enough: a renewal whose request the
 * current key signed (same key) or countersigned (new key) needs nothing more; otherwise, and
 * always for a re-key, the clerk enters the holder as checked at the desk, and it must be the
 * same holder.
 */
async function holderEvidence(
  entry: ReplacementEntry,
  current: ReplacedCertificate,
  csr: Uint8Array,
  sameKey: boolean,
): Promise<{ method: 'current-key' | 'desk'; sameKey: boolean; holder: Holder }> {
  let signedByCurrentKey = entry.kind === 'renewal' && sameKey;
  if (entry.currentKeySignature && !sameKey) {
    const signature = new Uint8Array(Buffer.from(entry.currentKeySignature, 'base64'));
    if (!(await sm2Verifier.verify(current.spki, csr, signature))) {
      throw new AppError(
        'CURRENT_KEY_SIGNATURE_INVALID',
        "currentKeySignature does not verify over the request's DER bytes under the current certificate's key (GM default ID)",
        422,
      );
    }
    signedByCurrentKey = true;
  }
  if (signedByCurrentKey && !entry.holder) {
    return { method: 'current-key', sameKey, holder: current.application.holder };
  }
  if (!entry.holder) {
    throw new AppError(
      'HOLDER_IDENTITY_REQUIRED',
      "without the current key's signature the clerk checks the holder's identity and enters the holder",
      422,
    );
  }
  const { holderType, profile, holderKey } = current.application;
  const vetted = vetHolder(holderType, profile, entry.holder);
  if (vetted.holderKey !== holderKey) {
    throw new AppError(
      'HOLDER_MISMATCH',
      `the holder entered (${vetted.holderKey}) is not the holder of certificate ${current.serial}`,
      422,
      { expected: holderKey, entered: vetted.holderKey },
    );
  }
  return { method: signedByCurrentKey ? 'current-key' : 'desk', sameKey, holder: vetted.holder };
}

/**
 * Enters a renewal or re-key as an application for the current certificate's holder and
 * profile, reviewed and issued through the application routes. One transaction: the current
 * certificate is checked under a share lock, and the partial unique index on the replaced
 * certificate refuses a second open replacement.
 */
async function enterReplacement(
  ctx: RaContext,
  actor: Actor & { id: string },
  entry: ReplacementEntry,
): Promise<Static<typeof ApplicationView>> {
  const serial = entry.serial.replaceAll(':', '').toLowerCase();
  const parsed = await verifiedCsr(entry.csr, ctx.csrVerifier);
  const { der: csr, publicKey: csrKey } = parsed;
  try {
    return await withTransaction(ctx.pool, async (client) => {
      const current = await replaceableCertificate(client, entry.kind, entry.issuerId, serial);
      const { profile, holderKey } = current.application;
      const policy = await profilePolicy(client, current.application.template);
      // A renewed certificate follows the template in use now, not the version the old certificate had.
      const template = await templateForApplication(client, current.application.template);
      const encryptionTemplate = current.application.dual
        ? await encryptionTemplateOf(client, template)
        : undefined;
      const sameKey = current.publicKey.equals(csrKey);
      if (sameKey && entry.kind === 'rekey') {
        throw new AppError(
          'REKEY_SAME_KEY',
          'a re-key certifies a new key pair; this request is for the compromised key',
          422,
        );
      }
      if (sameKey && !policy.sameKeyRenewal) {
        throw new AppError(
          'SAME_KEY_RENEWAL_NOT_ALLOWED',
          `profile ${profile} renews only with a new key pair`,
          422,
          { profile },
        );
      }
      const evidence = await holderEvidence(entry, current, csr, sameKey);
      await refuseKeyReuse(client, csrKeyBinding(parsed, holderKey, profile));
      const receivedAt = new Date();
      const deadline = workingDayDeadline(receivedAt, decisionWorkingDays);
      const { rows } = await client.query(
        `INSERT INTO applications (status, kind, holder_type, holder, holder_key, profile, csr, publish_consent,
                                   entered_by, entered_at, deadline, deadline_provisional, dual,
                                   replaces_issuer_id, replaces_serial, supersede, holder_evidence, operator_id,
                                   template, template_version, encryption_template, encryption_template_version)
         VALUES ('submitted', $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,
                 $19, $20, $21)
         RETURNING id`,
        [
          entry.kind,
          current.application.holderType,
          JSON.stringify(evidence.holder),
          holderKey,
          profile,
          Buffer.from(csr),
          current.application.publishConsent,
          actor.id,
          receivedAt,
          deadline.at,
          deadline.provisional,
          current.application.dual,
          entry.issuerId,
          serial,
          entry.kind === 'rekey' ? 'revoke' : policy.supersede,
          JSON.stringify({ method: evidence.method, sameKey }),
          current.application.operatorId,
          template.name,
          template.version,
          encryptionTemplate?.name ?? null,
          encryptionTemplate?.version ?? null,
        ],
      );
      const created = await readApplication(client, String(rows[0].id));
      await recordAudit(client, actor, {
        action: `${entry.kind}.submit`,
        subjectType: 'application',
        subjectId: created.id,
        after: created,
      });
      return created;
    });
  } catch (err) {
    const { code, constraint } = err as { code?: string; constraint?: string };
    if (code === '23505' && constraint === 'applications_replaces_once') {
      throw new AppError(
        'CERTIFICATE_ALREADY_REPLACED',
        `certificate ${serial} already has a renewal or re-key, open or issued`,
        409,
        { issuerId: entry.issuerId, serial },
      );
    }
    throw err;
  }
}

/**
 * Renewal (更新) and re-key (密钥更新) after compromise. Each is an application: the reviewer
 * decides it at /v1/applications/:id/review and the certificate maker issues it at
 * /v1/applications/:id/issue, which hands the holder a new download code. A re-key's approval
 * revokes the compromised certificate (keyCompromise) at once; a renewal's issuance revokes
 * the replaced one (superseded) where the profile says so.
 */
export function registerReplacementRoutes(app: HttpServer, ctx: RaContext): void {
  app.post(
    '/v1/renewals',
    {
      config: { access: allowedTo('renewal.enter') },
      schema: {
        tags: ['applications'],
        summary:
          'An entry clerk enters the renewal of a current certificate; reviewed and issued as an application',
        body: withExample(RenewalBody, renewalExample),
        response: { 201: withExample(ApplicationView, replacementExample('renewal')) },
      },
    },
    async (request, reply) => {
      const view = await enterReplacement(ctx, actorOf(request), { kind: 'renewal', ...request.body });
      return reply.status(201).send(view);
    },
  );

  app.post(
    '/v1/rekeys',
    {
      config: { access: allowedTo('rekey.enter') },
      schema: {
        tags: ['applications'],
        summary:
          "An entry clerk enters a re-key after key compromise: the reviewer's approval revokes the certificate (keyCompromise), the maker issues its replacement",
        body: withExample(RekeyBody, { ...renewalExample, holder: { commonName: '张三' } }),
        response: { 201: withExample(ApplicationView, replacementExample('rekey')) },
      },
    },
    async (request, reply) => {
      const view = await enterReplacement(ctx, actorOf(request), { kind: 'rekey', ...request.body });
      return reply.status(201).send(view);
    },
  );
}
