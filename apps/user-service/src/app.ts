import Type from 'typebox';
import { NonBlankText } from '@comms/contracts';
import { actorOf, challengeOnError } from '@comms/auth';
import { BEARER_SECURITY, createHttpApp, ProblemSchema } from '@comms/service-kit';
import type { HttpApp, Logger, ReadinessChecks } from '@comms/service-kit';
import { createCallerCheck } from './callers.js';
import type { CallerCheck } from './callers.js';
import { CURSOR_PATTERN, EMAIL_PATTERN, MAX_PAGE } from './users.js';
import type { User, Users } from './users.js';

const UserView = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    name: Type.String(),
    email: Type.String(),
    status: Type.Union([Type.Literal('active'), Type.Literal('inactive')]),
    createdAt: Type.String({ format: 'date-time' }),
  },
  { $id: 'User' },
);

const Problem = ProblemSchema;

const IdParams = Type.Object({ id: Type.String({ format: 'uuid' }) });
const errors = { 400: Problem, 404: Problem, 409: Problem };

const view = (user: User) => ({ ...user, createdAt: user.createdAt.toISOString() });

/**
 * Builds user-service's HTTP app without listening, so tests can use
 * `app.inject`. The transport only maps requests to the users module.
 */
export async function buildApp(deps: {
  users: Users;
  logger: Logger;
  readiness: ReadinessChecks;
  /** Service identity (AUTH_ISSUER_URL). Default: off, any caller, as before. */
  callers?: CallerCheck;
}): Promise<HttpApp> {
  const callers = deps.callers ?? createCallerCheck(undefined);
  const app = await createHttpApp({
    title: 'user-service',
    description: 'Users of the system. Also served over gRPC as user.v1.UserService.',
    logger: deps.logger,
    readiness: deps.readiness,
    bearerAuth: {
      description:
        "Applies when the service runs with AUTH_ISSUER_URL set (without it no route needs a token). The calling service's own OAuth 2.0 access token (client credentials, JWT, audience urn:comms:user-service); AUTH_CALLERS says which services may call and whether each may read (GET) or also write (POST /users, POST /users/{id}/deactivate).",
      required: callers.enabled,
      // Before the body is read. Reads and writes are separate permissions.
      authenticate: (authorization, request) =>
        callers.check(
          authorization,
          request.method === 'GET' || request.method === 'HEAD' ? 'users:read' : 'users:write',
        ),
    },
  });
  const { users } = deps;
  // RFC 6750: a 401 or 403 says what the bearer token lacked.
  if (callers.enabled) app.addHook('onError', challengeOnError('user-service'));

  app.post(
    '/users',
    {
      schema: {
        summary: 'Register a user',
        description: 'With AUTH_ISSUER_URL set: a caller with users:write.',
        security: BEARER_SECURITY,
        body: Type.Object(
          {
            name: NonBlankText(
              { minLength: 1, maxLength: 100 },
              'must be 1-100 characters besides spaces at either end',
            ),
            email: Type.String({
              format: 'email',
              maxLength: 254,
              pattern: EMAIL_PATTERN,
              errorMessage: 'must be an email address',
            }),
          },
          { additionalProperties: false },
        ),
        response: { 201: UserView, ...errors },
      },
    },
    async (request, reply) => {
      const actor = actorOf(app.principalOf(request));
      const user = await users.create({ ...request.body, actor });
      return reply.status(201).header('location', `/users/${user.id}`).send(view(user));
    },
  );

  app.get(
    '/users/:id',
    {
      schema: {
        summary: 'Get a user',
        description: 'With AUTH_ISSUER_URL set: a caller with users:read.',
        security: BEARER_SECURITY,
        params: IdParams,
        response: { 200: UserView, ...errors },
      },
    },
    async (request) => view(await users.get(request.params.id)),
  );

  app.get(
    '/users',
    {
      schema: {
        summary: 'List users, oldest first, a page at a time',
        description: 'With AUTH_ISSUER_URL set: a caller with users:read.',
        security: BEARER_SECURITY,
        querystring: Type.Object(
          {
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PAGE, default: 20 })),
            cursor: Type.Optional(
              Type.String({
                pattern: CURSOR_PATTERN,
                errorMessage: 'is not one this service returned',
                description:
                  'Opaque: the nextCursor of the page before, or empty for the first page',
              }),
            ),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            items: Type.Array(UserView),
            nextCursor: Type.Union([Type.String(), Type.Null()]),
          }),
          ...errors,
        },
      },
    },
    async (request) => {
      const page = await users.list({
        ...(request.query.limit === undefined ? {} : { limit: request.query.limit }),
        ...(request.query.cursor === undefined ? {} : { cursor: request.query.cursor }),
      });
      return { items: page.items.map(view), nextCursor: page.nextCursor };
    },
  );

  app.post(
    '/users/:id/deactivate',
    {
      schema: {
        summary: 'Deactivate a user (idempotent)',
        description: 'With AUTH_ISSUER_URL set: a caller with users:write.',
        security: BEARER_SECURITY,
        params: IdParams,
        response: { 200: UserView, ...errors },
      },
    },
    async (request) => {
      const actor = actorOf(app.principalOf(request));
      return view(await users.deactivate(request.params.id, { actor }));
    },
  );

  return app;
}
