import { Type } from '@sinclair/typebox';
import { AppError, allowedTo, type HttpServer, roles, withExample } from '@sm2ca/platform';
import { literals } from './ra-context.ts';

const SessionView = Type.Object({
  operator: Type.Object({
    id: Type.String(),
    name: Type.String(),
    roles: Type.Array(literals(roles)),
  }),
});

/** Whom the bearer token stands for: the console builds its menus from the roles, the RA still decides each action. */
export function registerSessionRoute(app: HttpServer): void {
  app.get(
    '/v1/session',
    {
      config: { access: allowedTo('session.read') },
      schema: {
        tags: ['login'],
        summary: 'The operator this session or credential stands for, and their roles',
        response: {
          200: withExample(SessionView, { operator: { id: '7', name: 'li.wei', roles: ['reviewer'] } }),
        },
      },
    },
    async (request) => {
      const operator = request.operator;
      if (!operator) throw new AppError('AUTH_REQUIRED', 'an operator bearer credential is required', 401);
      return { operator: { id: operator.id, name: operator.name, roles: operator.roles } };
    },
  );
}
