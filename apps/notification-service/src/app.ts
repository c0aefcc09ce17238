import { fastifySSE } from '@fastify/sse';
import type { SSEReplyInterface } from '@fastify/sse';
import Type from 'typebox';
import type { FastifyRequest } from 'fastify';
import { challengeOnError } from '@comms/auth';
import type { KafkaConsumer } from '@comms/kafka';
import type { Pool } from '@comms/postgres';
import { AppError, BEARER_SECURITY, createHttpApp } from '@comms/service-kit';
import type { HttpApp, Logger, ReadinessChecks } from '@comms/service-kit';
import { createNotificationAccess } from './access.js';
import type { NotificationAccess } from './access.js';
import { DLQ_LIST_MAX } from './dlq.js';
import type { DlqView, RedriveOutcome } from './dlq.js';
import type { Feed } from './feed.js';
import type { Notification, SubjectType } from './processor.js';

const Uuid = Type.String({ format: 'uuid' });

const NotificationView = Type.Object({
  id: Type.String({
    description: 'Increasing; the SSE event id, and what Last-Event-ID resumes after',
  }),
  eventId: Type.String({ format: 'uuid' }),
  eventType: Type.String(),
  userId: Type.String({ format: 'uuid' }),
  kind: Type.String(),
  subjectType: Type.Union([Type.Literal('order'), Type.Literal('user')], {
    description: 'What kind of aggregate the event was about',
  }),
  subjectId: Type.Union([Uuid, Type.Null()], {
    description:
      "The event's subject (the aggregate id): the order id for order events, the user id for user events. Null only for order confirmations stored before subjects were kept whose order could not be recovered.",
  }),
  orderId: Type.Union([Uuid, Type.Null()], {
    description: 'The order this notification is about; null when it is about a user',
  }),
  recipientName: Type.String(),
  recipientEmail: Type.String(),
  subject: Type.String({ description: 'Subject line of the message (text, not an id)' }),
  body: Type.String(),
  actor: Type.Union([Type.String(), Type.Null()], {
    description:
      "Who caused the event this notification is about, from its CloudEvents actor attribute: 'user:<sub>' or 'service:<client id>'; null when the event named nobody (its producer ran without AUTH_ISSUER_URL, or it predates the attribute)",
  }),
  createdAt: Type.String({ format: 'date-time' }),
});

const LagView = Type.Object({
  group: Type.String(),
  joined: Type.Boolean(),
  assigned: Type.Optional(Type.Record(Type.String(), Type.Array(Type.Integer()))),
  totalLag: Type.Optional(Type.Integer()),
  partitions: Type.Array(
    Type.Object({
      topic: Type.String(),
      partition: Type.Integer(),
      committed: Type.Integer(),
      end: Type.Integer(),
      lag: Type.Integer(),
    }),
  ),
});

const Count = Type.Integer({ minimum: 0 });
const NullableCount = Type.Union([Count, Type.Null()]);
const NullableText = Type.Union([Type.String(), Type.Null()]);

const DeadLetterView = Type.Object({
  partition: Count,
  offset: Type.Integer({ minimum: 0, description: 'Its offset in the dead-letter topic' }),
  key: NullableText,
  reason: Type.String({
    description:
      "Why it was dead-lettered: 'invalid' (not a valid event, never handled) or 'failed' (its handling kept failing)",
  }),
  error: Type.String({ description: 'What went wrong, as text' }),
  sourceTopic: Type.Union([Type.String(), Type.Null()], {
    description: 'The topic it was read from, and where the re-drive sends it',
  }),
  sourcePartition: NullableCount,
  sourceOffset: NullableCount,
  group: NullableText,
  failedAt: Type.Union([Type.String(), Type.Null()], { description: 'RFC 3339' }),
  redriven: Type.Integer({
    minimum: 0,
    description: 'How many times it had been re-driven before it came back here',
  }),
  eventType: NullableText,
  eventId: NullableText,
  preview: Type.String({ description: 'The start of its value, as text' }),
});

const DlqListingView = Type.Object({
  topic: Type.String(),
  redriveGroup: Type.String({
    description: 'The group whose committed offsets mark what was re-driven',
  }),
  total: Type.Integer({ minimum: 0, description: 'Messages waiting, over all partitions' }),
  caughtUp: Type.Boolean({
    description:
      'Whether this instance has read every waiting message (the list is complete up to limit)',
  }),
  partitions: Type.Array(
    Type.Object({ partition: Count, from: Count, end: Count, waiting: Count }),
  ),
  messages: Type.Array(DeadLetterView, { description: 'The waiting messages, newest first' }),
});

const RedriveView = Type.Object({
  redriven: Type.Integer({ minimum: 0, description: 'Messages sent back to their topic' }),
  skipped: Type.Integer({
    minimum: 0,
    description: 'Messages without a source topic, passed over',
  }),
  drained: Type.Boolean({
    description: 'False when the deadline came before the DLQ was drained; ask again',
  }),
});

interface Row {
  id: string;
  event_id: string;
  event_type: string;
  user_id: string;
  kind: string;
  subject_type: SubjectType;
  subject_id: string | null;
  recipient_name: string;
  recipient_email: string;
  subject: string;
  body: string;
  actor: string | null;
  created_at: Date;
}

const toView = (r: Row): Notification => ({
  id: r.id,
  eventId: r.event_id,
  eventType: r.event_type,
  userId: r.user_id,
  kind: r.kind,
  subjectType: r.subject_type,
  subjectId: r.subject_id,
  orderId: r.subject_type === 'order' ? r.subject_id : null,
  recipientName: r.recipient_name,
  recipientEmail: r.recipient_email,
  subject: r.subject,
  body: r.body,
  actor: r.actor,
  createdAt: r.created_at.toISOString(),
});

/** Which notifications a list or a stream shows. */
interface Filter {
  readonly userId?: string | undefined;
  readonly orderId?: string | undefined;
  /** Only those stored after this id (a resumed stream). */
  readonly afterId?: string | undefined;
}

/** User ids are UUIDs; a token's subject may be any text, and is nobody's recipient then. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function selectNotifications(
  pool: Pool,
  filter: Filter,
  order: 'newest first' | 'oldest first',
  limit: number,
): Promise<Notification[]> {
  if (filter.userId !== undefined && !UUID.test(filter.userId)) return Promise.resolve([]);
  const params: unknown[] = [limit];
  const where: string[] = [];
  const param = (value: unknown) => `$${params.push(value)}`;
  if (filter.userId !== undefined) where.push(`user_id = ${param(filter.userId)}`);
  if (filter.orderId !== undefined)
    where.push(`subject_type = 'order' AND subject_id = ${param(filter.orderId)}`);
  if (filter.afterId !== undefined) where.push(`id > ${param(filter.afterId)}`);
  return pool
    .query<Row>(
      `SELECT id::text, event_id, event_type, user_id, kind, subject_type, subject_id,
              recipient_name, recipient_email, subject, body, actor, created_at
         FROM notifications ${where.length === 0 ? '' : `WHERE ${where.join(' AND ')}`}
        ORDER BY id ${order === 'newest first' ? 'DESC' : 'ASC'} LIMIT $1`,
      params,
    )
    .then((result) => result.rows.map(toView));
}

/** A comment this often keeps proxies from closing an idle stream. */
const KEEP_ALIVE_MS = 15_000;
/** Stored notifications a resumed stream reads from the database at a time. */
const REPLAY_PAGE = 500;
/** What a stream's last event says when its token expires. */
const TOKEN_EXPIRED =
  'the access token expired; reconnect with Last-Event-ID and a fresh token to resume';

/** Builds notification-service's HTTP app without listening. */
export async function buildApp(deps: {
  pool: Pool;
  feed: Feed;
  consumer: () => KafkaConsumer | undefined;
  group: string;
  dlq: { view: DlqView; redrive: () => Promise<RedriveOutcome> };
  logger: Logger;
  readiness: ReadinessChecks;
  /** Who may read what (AUTH_ISSUER_URL). Default: off, every caller reads everything, as before. */
  access?: NotificationAccess;
}): Promise<HttpApp> {
  const access = deps.access ?? createNotificationAccess(undefined);
  const app = await createHttpApp({
    title: 'notification-service',
    description:
      'Notifications made from Kafka events; a live Server-Sent Events feed; consumer lag for operators.',
    logger: deps.logger,
    readiness: deps.readiness,
    bearerAuth: {
      description:
        "Applies when the service runs with AUTH_ISSUER_URL set (without it no route needs a token). An OAuth 2.0 access token (JWT, audience urn:comms:notification-service): an end user's reads their own notifications; the operator role's, or the own token of a client in AUTH_OPERATOR_CLIENTS (the console's backend), reads everyone's, the consumer lag and the DLQ, and re-drives it.",
      required: access.enabled,
      // Before the body is read and before a stream opens.
      authenticate: (authorization) => access.authenticate(authorization),
    },
  });
  const who = (request: FastifyRequest) => app.principalOf(request);
  // RFC 6750: a 401 or 403 says what the bearer token lacked.
  if (access.enabled) app.addHook('onError', challengeOnError('notification-service'));
  const ListQuery = Type.Object(
    {
      userId: Type.Optional(Uuid),
      orderId: Type.Optional(Uuid),
      limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
    },
    { additionalProperties: false },
  );

  app.get(
    '/notifications',
    {
      schema: {
        summary: 'Latest notifications, newest first, optionally for one user and/or one order',
        description:
          "With a token: an end user's lists only their own (userId, when given, must be theirs); an operator's lists anyone's.",
        security: BEARER_SECURITY,
        querystring: ListQuery,
        response: { 200: Type.Object({ items: Type.Array(NotificationView) }) },
      },
    },
    async (request) => {
      const { orderId, limit = 50 } = request.query;
      const userId = access.readable(who(request), request.query.userId);
      return {
        items: await selectNotifications(deps.pool, { userId, orderId }, 'newest first', limit),
      };
    },
  );

  // Streams that are open; ended before the server closes. preClose runs
  // before fastify closes the server, which then waits for every open
  // connection: a stream still open there holds shutdown until its deadline.
  const streams = new Set<SSEReplyInterface>();
  app.addHook('preClose', (done) => {
    for (const stream of streams) stream.close();
    done();
  });
  // The plugin's heartbeat is the keep-alive comment.
  await app.register(fastifySSE, { heartbeatInterval: KEEP_ALIVE_MS });

  app.get(
    '/notifications/stream',
    {
      // 'manual': stream whatever the Accept header says, as this route always
      // did; the plugin's 406 for other media types is not a problem document.
      sse: 'manual',
      schema: {
        summary:
          'Server-Sent Events: each new notification as it is stored (event: notification, id: its id). With Last-Event-ID, the stored ones after that id come first.',
        description:
          'With a token: checked when the stream opens (a refusal is a problem document, never a stream); an end user\'s stream carries only their own notifications, an operator\'s everyone\'s. The stream lives as long as its token: at the token\'s expiry (`exp`) it sends one last event, `event: token-expired` with `data: {"expiredAt": <RFC 3339>, "detail": <text>}` and `id:` where to resume (the last notification sent, or for a stream that sent none its Last-Event-ID or the newest id stored as it opened), and ends the response. The client reconnects with a fresh token and `Last-Event-ID` and gets what was stored meanwhile; the expired token gets 401 (`error="invalid_token"`), also within the verifier\'s clock tolerance. Without AUTH_ISSUER_URL a stream runs until the client leaves or the service stops.',
        security: BEARER_SECURITY,
        response: {
          200: {
            description:
              'The stream: `event: notification`, `id: <id>`, `data: <notification JSON>`; with a token, a last `event: token-expired` as it expires',
            content: { 'text/event-stream': { schema: Type.String() } },
          },
        },
        querystring: Type.Object(
          { userId: Type.Optional(Uuid), orderId: Type.Optional(Uuid) },
          { additionalProperties: false },
        ),
        headers: Type.Object({
          'last-event-id': Type.Optional(
            Type.String({
              pattern: '^[0-9]{0,18}$',
              description: 'The id of the last event received; resume after it',
            }),
          ),
        }),
      },
    },
    async (request, reply) => {
      const { orderId } = request.query;
      // The token is checked as the stream opens (onRequest): a refusal is a problem document.
      const userId = access.readable(who(request), request.query.userId);
      const lastEventId = request.headers['last-event-id'];
      const stream = reply.sse;
      // Where a reconnect resumes: the last notification sent, else the Last-Event-ID this
      // stream resumed from, else the newest id stored as it opened (read below), so that
      // the forced reconnect of a stream that sent nothing misses nothing either.
      let resumeAfter = lastEventId === '' ? undefined : lastEventId;
      // It ends when the token expires: one last `token-expired` event, then the end of the
      // response; the client reconnects with Last-Event-ID and a fresh token.
      const stopExpiry = access.untilExpiry(who(request), () => {
        if (!stream.isConnected) return;
        const expiredAt = new Date(who(request)?.expiresAt ?? Date.now()).toISOString();
        const id = resumeAfter === undefined ? '' : `id: ${resumeAfter}\n`;
        reply.raw.write(
          `event: token-expired\n${id}data: ${JSON.stringify({ expiredAt, detail: TOKEN_EXPIRED })}\n\n`,
        );
        stream.close();
      });
      const wanted = (n: Notification) =>
        (userId === undefined || n.userId === userId) &&
        (orderId === undefined || n.orderId === orderId);
      const send = (n: Notification) => {
        if (!stream.isConnected) return Promise.resolve();
        resumeAfter = n.id;
        return stream.send({ id: n.id, event: 'notification', data: n });
      };

      // A resumed stream replays what was stored after Last-Event-ID while
      // live notifications wait in `held`; then the held ones the replay did
      // not already send follow. Subscribing before reading means nothing
      // stored meanwhile is missed; `replayed` means nothing is sent twice.
      const resuming = lastEventId !== undefined && lastEventId !== '';
      let held: Notification[] | undefined = resuming ? [] : undefined;
      const replayed = new Set<string>();
      const unsubscribe = deps.feed.subscribe((n) => {
        if (!wanted(n)) return;
        if (held !== undefined) held.push(n);
        else if (!replayed.has(n.id)) void send(n);
      });
      streams.add(stream);
      stream.onClose(() => {
        stopExpiry();
        unsubscribe();
        streams.delete(stream);
      });
      // The stream outlives this handler; it ends when the client leaves, the server closes or the token expires.
      stream.keepAlive();
      stream.sendHeaders();
      // A comment right away hands the client the response head; the plugin
      // has no call for comments, and would send nothing until the first event.
      reply.raw.write(': connected\n\n');
      if (!resuming) {
        // After subscribing: what is stored from here on comes live, so resuming after the
        // newest id now skips nothing this stream would have shown. Needed only when it can
        // expire; failing, the last event goes without an id.
        if (access.enabled)
          void deps.pool
            .query<{ id: string | null }>('SELECT max(id)::text AS id FROM notifications')
            .then((result) => {
              resumeAfter ??= result.rows[0]?.id ?? '0';
            })
            .catch((error: unknown) =>
              request.log.warn({ err: error }, 'the stream has no resume point for its expiry'),
            );
        return;
      }
      try {
        let after = lastEventId;
        for (;;) {
          const page = await selectNotifications(
            deps.pool,
            { userId, orderId, afterId: after },
            'oldest first',
            REPLAY_PAGE,
          );
          for (const n of page) {
            replayed.add(n.id);
            await send(n);
          }
          const last = page.at(-1);
          if (last === undefined || page.length < REPLAY_PAGE || !stream.isConnected) break;
          after = last.id;
        }
        for (const n of held ?? []) if (!replayed.has(n.id)) await send(n);
        held = undefined;
      } catch (error) {
        // The client reconnects with the same Last-Event-ID and tries again.
        request.log.warn(
          { err: error },
          'replaying stored notifications failed; ending the stream',
        );
        stream.close();
      }
    },
  );

  app.get(
    '/consumer/lag',
    {
      schema: {
        summary: 'Consumer group lag per partition, and what this instance is assigned',
        description: "With a token: the operator role's, or an AUTH_OPERATOR_CLIENTS service's.",
        security: BEARER_SECURITY,
        response: { 200: LagView, 503: LagView },
      },
    },
    async (request, reply) => {
      access.operate(who(request), 'consumer-lag:read');
      const consumer = deps.consumer();
      if (consumer === undefined)
        return reply.status(503).send({ group: deps.group, joined: false, partitions: [] });
      const partitions = await consumer.lag();
      return {
        group: deps.group,
        joined: consumer.joined(),
        assigned: Object.fromEntries(
          Object.entries(consumer.assignment()).map(([t, p]) => [t, [...p]]),
        ),
        totalLag: partitions.reduce((sum, p) => sum + p.lag, 0),
        partitions,
      };
    },
  );

  app.get(
    '/dlq',
    {
      schema: {
        summary:
          'The dead-letter topic: the messages the re-drive has not yet sent back, newest first, each with its reason',
        description: "With a token: the operator role's, or an AUTH_OPERATOR_CLIENTS service's.",
        security: BEARER_SECURITY,
        querystring: Type.Object(
          {
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: DLQ_LIST_MAX, default: 50 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: DlqListingView },
      },
    },
    async (request) => {
      access.operate(who(request), 'dlq:read');
      try {
        return await deps.dlq.view.list(request.query.limit ?? 50);
      } catch (error) {
        throw new AppError('UNAVAILABLE', `Kafka did not answer: ${(error as Error).message}`);
      }
    },
  );

  // One re-drive at a time: a call while one runs gets that one's outcome.
  let redriving: Promise<RedriveOutcome> | undefined;
  app.post(
    '/dlq/redrive',
    {
      schema: {
        summary:
          'Sends every waiting dead-lettered message back to the topic it came from, to be handled again (once the cause is fixed)',
        description: "With a token: the operator role's, or an AUTH_OPERATOR_CLIENTS service's.",
        security: BEARER_SECURITY,
        response: { 200: RedriveView },
      },
    },
    async (request) => {
      access.operate(who(request), 'dlq:redrive');
      redriving ??= deps.dlq.redrive().finally(() => (redriving = undefined));
      try {
        return await redriving;
      } catch (error) {
        throw new AppError('UNAVAILABLE', `the re-drive failed: ${(error as Error).message}`);
      }
    },
  );

  return app;
}
