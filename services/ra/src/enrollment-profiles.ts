import { Type } from '@sinclair/typebox';
import { allowedTo, type HttpServer, withExample } from '@sm2ca/platform';
import { holderTypes, profilesByHolderType } from './holder-identity.ts';

const ProfilesView = Type.Object({
  holderTypes: Type.Object({
    person: Type.Array(Type.String()),
    organisation: Type.Array(Type.String()),
    device: Type.Array(Type.String()),
  }),
});

/** The profiles each holder type may apply for, as the RA enforces them: the console's form offers exactly these. */
export function registerEnrollmentProfileRoute(app: HttpServer): void {
  app.get(
    '/v1/enrollment/profiles',
    {
      config: { access: allowedTo('application.enter') },
      schema: {
        tags: ['applications'],
        summary: 'The certificate profiles an application may name, by holder type',
        response: {
          200: withExample(ProfilesView, {
            holderTypes: {
              person: ['person-sign'],
              organisation: ['organization-sign'],
              device: ['device-sign'],
            },
          }),
        },
      },
    },
    async () => ({
      holderTypes: Object.fromEntries(
        holderTypes.map((type) => [type, [...profilesByHolderType[type]]]),
      ) as Record<(typeof holderTypes)[number], string[]>,
    }),
  );
}
