import Type from 'typebox';
import type { KafkaConsumer } from '@comms/kafka';
import type { Pool } from '@comms/postgres';
import { createHttpApp } from '@comms/service-kit';
import type { HttpApp, Logger, ReadinessChecks } from '@comms/service-kit';
import type { Feed } from './feed.js';
import type { Notification } from './processor.js';

const NotificationView = Type.Object({
  id: Type.String(),
  eventId: Type.String({ format: 'uuid' }),
  eventType: Type.String(),
  userId: Type.String({ format: 'uuid' }),
  kind: Type.String(),
  recipientName: Type.String(),
  recipientEmail: Type.String(),
  subject: Type.String(),
  body: Type.String(),
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

interface Row {
  id: string;
  event_id: string;
  event_type: string;
  user_id: string;
  kind: string;
  recipient_name: string;
  recipient_email: string;
  subject: string;
  body: string;
  created_at: Date;
}

const toView = (r: Row): Notification => ({
  id: r.id,
  eventId: r.event_id,
  eventType: r.event_type,
  userId: r.user_id,
  kind: r.kind,
  recipientName: r.recipient_name,
  recipientEmail: r.recipient_email,
  subject: r.subject,
  body: r.body,
  createdAt: r.created_at.toISOString(),
});

/** Builds notification-service's HTTP app without listening. */
export async function buildApp(deps: {
  pool: Pool;
  feed: Feed;
  consumer: () => KafkaConsumer | undefined;
  group: string;
  logger: Logger;
  readiness: ReadinessChecks;
}): Promise<HttpApp> {
  const app = await createHttpApp({
    title: 'notification-service',
    description:
      'Notifications made from Kafka events; a live Server-Sent Events feed; consumer lag for operators.',
    logger: deps.logger,
    readiness: deps.readiness,
  });
  const UserQuery = Type.Object(
    {
      userId: Type.Optional(Type.String({ format: 'uuid' })),
      limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
    },
    { additionalProperties: false },
  );

  app.get(
    '/notifications',
    {
      schema: {
        summary: 'Latest notifications, newest first, optionally for one user',
        querystring: UserQuery,
        response: { 200: Type.Object({ items: Type.Array(NotificationView) }) },
      },
    },
    async (request) => {
      const { userId, limit = 50 } = request.query;
      const result = await deps.pool.query<Row>(
        `SELECT id::text, event_id, event_type, user_id, kind, recipient_name, recipient_email, subject, body, created_at
           FROM notifications ${userId === undefined ? '' : 'WHERE user_id = $2'}
          ORDER BY id DESC LIMIT $1`,
        userId === undefined ? [limit] : [limit, userId],
      );
      return { items: result.rows.map(toView) };
    },
  );

  app.get(
    '/notifications/stream',
    {
      schema: {
        summary: 'Server-Sent Events: each new notification as it is stored (event: notification)',
        querystring: Type.Object(
          { userId: Type.Optional(Type.String({ format: 'uuid' })) },
          { additionalProperties: false },
        ),
      },
    },
    (request, reply) => {
      const { userId } = request.query;
      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      raw.write(': connected\n\n');
      const unsubscribe = deps.feed.subscribe((notification) => {
        if (userId !== undefined && notification.userId !== userId) return;
        raw.write(
          `event: notification\nid: ${notification.id}\ndata: ${JSON.stringify(notification)}\n\n`,
        );
      });
      // A comment every 15 s keeps proxies from closing an idle stream.
      const keepAlive = setInterval(() => raw.write(': keep-alive\n\n'), 15_000);
      const end = () => {
        clearInterval(keepAlive);
        unsubscribe();
      };
      request.raw.on('close', end);
      app.addHook('onClose', (_instance, done) => {
        end();
        raw.end();
        done();
      });
    },
  );

  app.get(
    '/consumer/lag',
    {
      schema: {
        summary: 'Consumer group lag per partition, and what this instance is assigned',
        response: { 200: LagView, 503: LagView },
      },
    },
    async (_request, reply) => {
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

  return app;
}
