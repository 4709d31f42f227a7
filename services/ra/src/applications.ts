import { Type } from '@sinclair/typebox';
import { allowedTo, type HttpServer, recordAudit, withExample, workingDayDeadline } from '@sm2ca/platform';
import { withTransaction } from '@sm2ca/store';
import { applicationExample, submitExample } from './api-examples.ts';
import { vetEntry } from './application-entry.ts';
import { ApplicationView, readApplication } from './application-view.ts';
import { HolderSchema, holderTypes, profilesByHolderType } from './holder-identity.ts';
import { actorOf, literals, type RaContext } from './ra-context.ts';
import { templateName } from './template-body.ts';

/** The regulation: an application is decided, and the applicant told, within two working days. */
export const decisionWorkingDays = 2;

const SubmitBody = Type.Object(
  {
    holderType: literals(holderTypes),
    profile: literals(Object.values(profilesByHolderType).flat(), {
      description: 'a certificate profile that fits the holder type',
    }),
    holder: HolderSchema,
    operatorId: Type.Optional(
      Type.String({
        pattern: '^[1-9][0-9]{0,17}$',
        description:
          'operator-sign only, and required there: the operator whose own login certificate this is. A super admin other than that operator decides it',
      }),
    ),
    csr: Type.String({
      minLength: 1,
      maxLength: 16_384,
      description: "the holder's PKCS#10 request, PEM or base64 DER, signed with the GM default SM2 ID",
    }),
    template: Type.Optional(
      templateName(
        "the template to issue under, such as tax-bureau-staff: one of the profile's kind; absent: the profile's own",
      ),
    ),
    templateVersion: Type.Optional(
      Type.Integer({
        minimum: 1,
        description: "the template's version to issue under; the newest approved one when absent",
      }),
    ),
    publishConsent: Type.Boolean({ description: 'the holder agrees to the certificate being published' }),
    dual: Type.Optional(
      Type.Boolean({
        default: false,
        description:
          'true: also issue the encryption certificate of the signature profile (person-encrypt, organization-encrypt, ' +
          'device-encrypt) for a key pair the KM generates and escrows, delivered to the holder enveloped to the ' +
          "signature key of this request. Off unless asked: the holder's tool must import an enveloped key " +
          '(GM/T 0092 CSRResponse or SM2EnvelopedKey), and an application keeps meaning one signature certificate ' +
          'for clients written before dual enrollment. An *-encrypt profile on its own is refused ' +
          '(ENCRYPTION_KEY_NOT_FROM_KM): encryption keys come from the KM.',
      }),
    ),
  },
  { additionalProperties: false },
);

export function registerApplicationRoutes(app: HttpServer, ctx: RaContext): void {
  app.post(
    '/v1/applications',
    {
      config: { access: allowedTo('application.enter') },
      schema: {
        tags: ['applications'],
        summary: 'An entry clerk submits a certificate application',
        body: withExample(SubmitBody, submitExample),
        response: { 201: withExample(ApplicationView, applicationExample) },
      },
    },
    async (request, reply) => {
      const actor = actorOf(request);
      const body = request.body;
      const dual = body.dual ?? false;
      const { vetted, csr, template, encryptionTemplate, operatorId } = await vetEntry(ctx, {
        ...body,
        dual,
      });
      const receivedAt = new Date();
      const deadline = workingDayDeadline(receivedAt, decisionWorkingDays);
      const view = await withTransaction(ctx.pool, async (client) => {
        const { rows } = await client.query(
          `INSERT INTO applications (status, holder_type, holder, holder_key, profile, csr, publish_consent,
                                     entered_by, entered_at, deadline, deadline_provisional, dual, operator_id,
                                     template, template_version, encryption_template, encryption_template_version)
           VALUES ('submitted', $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
           RETURNING id`,
          [
            body.holderType,
            JSON.stringify(vetted.holder),
            vetted.holderKey,
            vetted.profile.id,
            Buffer.from(csr),
            body.publishConsent,
            actor.id,
            receivedAt,
            deadline.at,
            deadline.provisional,
            dual,
            operatorId,
            template.name,
            template.version,
            encryptionTemplate?.name ?? null,
            encryptionTemplate?.version ?? null,
          ],
        );
        const created = await readApplication(client, String(rows[0].id));
        await recordAudit(client, actor, {
          action: 'application.submit',
          subjectType: 'application',
          subjectId: created.id,
          after: created,
        });
        return created;
      });
      return reply.status(201).send(view);
    },
  );
}
