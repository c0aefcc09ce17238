import Type from 'typebox';
import {
  ACTOR_PATTERN,
  ITEM_PRICE_PATTERN,
  MAX_CANCEL_REASON_LENGTH,
  MAX_ITEM_PRICE_MINOR,
  MAX_ITEM_QUANTITY,
  MAX_ORDER_ITEMS,
  MAX_PRODUCT_ID_LENGTH,
  MONEY_PATTERN,
  formatMoney,
  NonBlankText,
  Text,
} from '@comms/contracts';
import { actorOf, challengeOnError } from '@comms/auth';
import type { FastifyRequest } from 'fastify';
import { AppError, BEARER_SECURITY, createHttpApp, ProblemSchema } from '@comms/service-kit';
import type { HttpApp, Logger, ReadinessChecks } from '@comms/service-kit';
import { createOrderAccess } from './access.js';
import type { OrderAccess } from './access.js';
import type { OrderView, Orders } from './orders.js';

const Status = Type.Union([
  Type.Literal('CREATED'),
  Type.Literal('PAID'),
  Type.Literal('SHIPPED'),
  Type.Literal('CANCELLED'),
]);
/** A line of a new order: what the decider accepts, stated so the document says it. */
const NewItem = Type.Object(
  {
    productId: NonBlankText(
      { minLength: 1, maxLength: MAX_PRODUCT_ID_LENGTH },
      `must be 1-${MAX_PRODUCT_ID_LENGTH} characters besides spaces at either end`,
    ),
    quantity: Type.Integer({ minimum: 1, maximum: MAX_ITEM_QUANTITY }),
    price: Type.String({
      pattern: ITEM_PRICE_PATTERN,
      errorMessage: `must be greater than 0 and at most ${formatMoney(MAX_ITEM_PRICE_MINOR)}, as a decimal string like "19.99"`,
      description: `unit price as a decimal string, e.g. "19.99": more than 0, at most ${formatMoney(MAX_ITEM_PRICE_MINOR)}`,
    }),
  },
  { additionalProperties: false },
);
/** A line as an order shows it (the published shape; new lines obey {@link NewItem}). */
const ItemView = Type.Object(
  {
    productId: Text({ minLength: 1, maxLength: MAX_PRODUCT_ID_LENGTH }),
    quantity: Type.Integer({ minimum: 1, maximum: MAX_ITEM_QUANTITY }),
    price: Type.String({
      pattern: MONEY_PATTERN,
      description: 'unit price as a decimal string, e.g. "19.99"',
    }),
  },
  { additionalProperties: false },
);
const OrderBody = Type.Object({
  orderId: Type.String({ format: 'uuid' }),
  userId: Type.String({ format: 'uuid' }),
  userName: Type.String(),
  status: Status,
  items: Type.Array(ItemView),
  totalAmount: Type.String(),
  version: Type.Integer(),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});
const Problem = ProblemSchema;
const errors = { 400: Problem, 404: Problem, 409: Problem, 422: Problem, 503: Problem };
const IdParams = Type.Object({ id: Type.String({ format: 'uuid' }) });
const VersionBody = Type.Object(
  { expectedVersion: Type.Optional(Type.Integer({ minimum: 1 })) },
  { additionalProperties: false },
);
const CancelBody = Type.Object(
  {
    expectedVersion: Type.Optional(Type.Integer({ minimum: 1 })),
    reason: Type.Optional(Text({ maxLength: MAX_CANCEL_REASON_LENGTH })),
  },
  { additionalProperties: false },
);

const view = (order: OrderView) => ({
  ...order,
  items: [...order.items],
  createdAt: order.createdAt.toISOString(),
  updatedAt: order.updatedAt.toISOString(),
});

/** What `If-Match` may hold: an order version, as an entity tag (`"3"`, `W/"3"`) or bare (`3`). */
const IF_MATCH_PATTERN = '^(?:W/)?"?([0-9]{1,9})"?$';
const IF_MATCH = new RegExp(IF_MATCH_PATTERN);

/** Reads the expected version from `If-Match` or the body; both must agree. */
function expectedVersion(
  ifMatch: string | undefined,
  body: number | undefined,
): number | undefined {
  let header: number | undefined;
  if (ifMatch !== undefined) {
    const match = IF_MATCH.exec(ifMatch.trim());
    if (match?.[1] === undefined) {
      throw new AppError(
        'INVALID_ARGUMENT',
        `If-Match must be an order version such as "3", got '${ifMatch.slice(0, 40)}'`,
        [{ field: 'headers.if-match', message: 'must be a version' }],
      );
    }
    header = Number(match[1]);
  }
  if (header !== undefined && body !== undefined && header !== body) {
    // Both are valid alone; together they ask for an order at two versions
    // at once, a precondition no order meets.
    throw new AppError(
      'ABORTED',
      `If-Match (${header}) and expectedVersion (${body}) disagree: an order is at one version; send one of them`,
    );
  }
  return header ?? body;
}

/** Builds order-service's HTTP app without listening. */
export async function buildApp(deps: {
  orders: Orders;
  logger: Logger;
  readiness: ReadinessChecks;
  /** Requests a minute per client; order-service is the public one. Default: no limit. */
  rateLimitPerMinute?: number;
  /** Who may do what (AUTH_ISSUER_URL). Default: off, every caller may do anything, as before. */
  access?: OrderAccess;
}): Promise<HttpApp> {
  const access = deps.access ?? createOrderAccess(undefined);
  const app = await createHttpApp({
    ...(deps.rateLimitPerMinute === undefined
      ? {}
      : { rateLimitPerMinute: deps.rateLimitPerMinute }),
    title: 'order-service',
    description:
      'Event-sourced orders. Money is a decimal string ("19.99"). Commands take the expected version in If-Match or expectedVersion.',
    logger: deps.logger,
    readiness: deps.readiness,
    // Declared whether or not it is on, so the document is one; `required` says which.
    bearerAuth: {
      description:
        "Applies when the service runs with AUTH_ISSUER_URL set (without it no route needs a token). An end user's OAuth 2.0 access token (JWT, audience urn:comms:order-service, AUTH_AUDIENCE) from the issuer, for example `npm run -s token -- --user <id>` locally. A user places, reads, pays and cancels their own orders; the role `operator` (AUTH_OPERATOR_ROLE) ships, rebuilds and reads any order. 401: no valid token (WWW-Authenticate says why); 403: the token lacks the permission named in `detail`; a user who is not an operator gets that same 403 for another user's order and for an unknown id alike (only the operator is told 404 for an unknown id). Health, metrics and /docs need no token.",
      required: access.enabled,
      // Before the body is read, so an unauthenticated caller learns nothing about the request's shape.
      authenticate: (authorization) => access.authenticate(authorization),
    },
  });
  const { orders } = deps;
  const who = (request: FastifyRequest) => app.principalOf(request);
  // RFC 6750: a 401 or 403 says what the bearer token lacked.
  if (access.enabled) app.addHook('onError', challengeOnError('order-service'));

  app.post(
    '/orders',
    {
      schema: {
        summary: 'Place an order (Idempotency-Key honoured)',
        security: BEARER_SECURITY,
        headers: Type.Object({
          'idempotency-key': Type.Optional(Text({ minLength: 1, maxLength: 200 })),
        }),
        body: Type.Object(
          {
            userId: Type.String({ format: 'uuid' }),
            items: Type.Array(NewItem, { minItems: 1, maxItems: MAX_ORDER_ITEMS }),
          },
          { additionalProperties: false },
        ),
        response: {
          201: Type.Object({
            orderId: Type.String({ format: 'uuid' }),
            status: Type.Literal('CREATED'),
            userName: Type.String(),
            totalAmount: Type.String(),
            version: Type.Integer(),
          }),
          ...errors,
        },
      },
    },
    async (request, reply) => {
      access.create(who(request), request.body.userId);
      const key = request.headers['idempotency-key'];
      const actor = actorOf(who(request));
      const created = await orders.create({
        ...request.body,
        ...(key === undefined ? {} : { idempotencyKey: key }),
        ...(actor === undefined ? {} : { actor }),
      });
      return reply
        .status(201)
        .header('location', `/orders/${created.orderId}`)
        .header('etag', `"${created.version}"`)
        .send(created);
    },
  );

  app.get(
    '/orders/:id',
    {
      schema: {
        summary: 'Get an order (read model)',
        security: BEARER_SECURITY,
        params: IdParams,
        response: { 200: OrderBody, ...errors },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const order = await access.read(who(request), id, () => orders.get(id));
      return reply.header('etag', `"${order.version}"`).send(view(order));
    },
  );

  app.get(
    '/orders/:id/events',
    {
      schema: {
        summary: "An order's event stream, oldest first",
        security: BEARER_SECURITY,
        description:
          "Each event says who caused it in `actor`: `user:<sub>` (the token's subject; an operator is a user too) or `service:<client id>`, as the event published on Kafka says it in its CloudEvents `actor` attribute. `actor` is null for events stored while authentication was off (AUTH_ISSUER_URL unset) and for events stored before order-service recorded it.",
        params: IdParams,
        response: {
          200: Type.Object({
            orderId: Type.String(),
            events: Type.Array(
              Type.Object({
                version: Type.Integer(),
                eventId: Type.String(),
                type: Type.String(),
                occurredAt: Type.String({ format: 'date-time' }),
                actor: Type.Union([Type.String({ pattern: ACTOR_PATTERN }), Type.Null()], {
                  description:
                    'who caused it, `user:<sub>` or `service:<client id>`; null when nobody authenticated did',
                }),
                data: Type.Object({}, { additionalProperties: true }),
              }),
            ),
          }),
          ...errors,
        },
      },
    },
    async (request) => {
      const { id } = request.params;
      if (access.enabled) await access.read(who(request), id, () => orders.get(id));
      return {
        orderId: request.params.id,
        events: (await orders.history(request.params.id)).map((e) => ({
          version: e.version,
          eventId: e.eventId,
          type: e.type,
          occurredAt: e.occurredAt.toISOString(),
          actor: e.actor ?? null,
          data: e.data,
        })),
      };
    },
  );

  app.get(
    '/orders',
    {
      schema: {
        summary: "A user's orders",
        security: BEARER_SECURITY,
        querystring: Type.Object(
          {
            userId: Type.String({ format: 'uuid' }),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 50 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ items: Type.Array(OrderBody) }), ...errors },
      },
    },
    async (request) => {
      access.list(who(request), request.query.userId);
      return {
        items: (await orders.listByUser(request.query.userId, request.query.limit)).map(view),
      };
    },
  );

  app.post(
    '/orders/:id/rebuild',
    {
      schema: {
        summary: "Rebuild an order's read-model row from its event stream",
        security: BEARER_SECURITY,
        description:
          'Replays the stream, compares the result with the read model field by field and, when they differ, writes the replayed row. An empty `differences` means the read model agreed with the events. No event is written.',
        params: IdParams,
        response: {
          200: Type.Object({
            orderId: Type.String({ format: 'uuid' }),
            repaired: Type.Boolean({ description: 'true when the row was rewritten' }),
            before: Type.Union([OrderBody, Type.Null()], {
              description: 'the read model before the rebuild; null when it had no row',
            }),
            after: OrderBody,
            differences: Type.Array(
              Type.Object({
                field: Type.String(),
                before: Type.Unknown(),
                after: Type.Unknown(),
              }),
            ),
          }),
          ...errors,
        },
      },
    },
    async (request) => {
      access.rebuild(who(request));
      const result = await orders.rebuild(request.params.id);
      return {
        orderId: request.params.id,
        repaired: result.differences.length > 0,
        before: result.before === undefined ? null : view(result.before),
        after: view(result.after),
        differences: result.differences,
      };
    },
  );

  for (const action of ['pay', 'cancel', 'ship'] as const) {
    app.post(
      `/orders/:id/${action}`,
      {
        schema: {
          summary: `${action[0]?.toUpperCase()}${action.slice(1)} an order`,
          security: BEARER_SECURITY,
          params: IdParams,
          headers: Type.Object({
            'if-match': Type.Optional(
              Type.String({
                pattern: IF_MATCH_PATTERN,
                errorMessage: 'must be an order version such as "3"',
                description:
                  'The version the order must be at, as its ETag gives it ("3"); a conflict is 409',
              }),
            ),
          }),
          body: action === 'cancel' ? CancelBody : (VersionBody as unknown as typeof CancelBody),
          response: { 200: OrderBody, ...errors },
        },
        // The body is optional: no body means no expectedVersion and no reason.
        preValidation: (request, _reply, done) => {
          request.body ??= {} as typeof request.body;
          done();
        },
      },
      async (request, reply) => {
        const { id } = request.params;
        if (access.enabled) await access.act(who(request), action, id, () => orders.get(id));
        const actor = actorOf(who(request));
        const body = request.body;
        const expected = expectedVersion(request.headers['if-match'], body.expectedVersion);
        const order = await orders.handle(request.params.id, action, {
          ...(expected === undefined ? {} : { expectedVersion: expected }),
          ...(body.reason === undefined ? {} : { reason: body.reason }),
          ...(actor === undefined ? {} : { actor }),
        });
        return reply.header('etag', `"${order.version}"`).send(view(order));
      },
    );
  }

  return app;
}
