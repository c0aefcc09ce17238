// notification-service as a real process, seen through outside clients:
// fetch for REST and for Server-Sent Events, Kafka for its input, SIGTERM to stop it.
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnyEvent } from '@comms/contracts';
import { findFreePort } from '@comms/infra';
import type { KafkaProducer } from '@comms/kafka';
import { createPool, migrate } from '@comms/postgres';
import { createTestDatabase, startServiceProcess, waitFor } from '@comms/testing';
import type { ServiceProcess, TestDatabase } from '@comms/testing';
import { MIGRATIONS } from './migrations.js';
import {
  connectToTopics,
  orderCreated,
  suiteTopics,
  testEnv,
  userRegistered,
} from './test-support.js';

const SERVER = fileURLToPath(new URL('../dist/server.js', import.meta.url));

let db: TestDatabase;
let producer: KafkaProducer;
let service: ServiceProcess;
let http: string;
const topics = suiteTopics();
const streams: Stream[] = [];

beforeAll(async () => {
  db = await createTestDatabase('notification_service');
  ({ producer } = await connectToTopics(topics, { clientId: 'notification-service-test' }));
  const port = await findFreePort();
  http = `http://127.0.0.1:${port}`;
  service = await startServiceProcess({
    entry: SERVER,
    env: testEnv(db.url, topics, {
      HOST: '127.0.0.1',
      PORT: String(port),
      PENDING_RETRY_MS: '200',
      LOG_LEVEL: 'info',
    }),
    // Ready means the consumer has joined, so nothing published from here on is missed.
    healthUrl: `${http}/readyz`,
    timeoutMs: 60_000,
  });
}, 90_000);

afterAll(async () => {
  for (const stream of streams) stream.close();
  await service.stop();
  await producer.close();
  await db.drop();
});

/** One Server-Sent Event as a client reads it. */
interface SseEvent {
  readonly id: string | undefined;
  readonly event: string | undefined;
  readonly data: string;
}

/** An open stream, read in the background by fetch. */
interface Stream {
  readonly status: number;
  readonly contentType: string | null;
  /** Everything received so far. */
  text(): string;
  /** The events received so far (comments left out). */
  events(): SseEvent[];
  /** `ended` when the server finished the response, `failed` when the connection broke. */
  outcome(): 'open' | 'ended' | 'failed';
  close(): void;
}

async function openStream(path: string, headers: Record<string, string> = {}): Promise<Stream> {
  const controller = new AbortController();
  const response = await fetch(`${http}${path}`, { headers, signal: controller.signal });
  let text = '';
  let outcome: 'open' | 'ended' | 'failed' = 'open';
  const decoder = new TextDecoder();
  const reader = (response.body as ReadableStream<Uint8Array> | null)?.getReader();
  void (async () => {
    try {
      for (;;) {
        const chunk = await reader?.read();
        if (chunk === undefined || chunk.done) break;
        text += decoder.decode(chunk.value, { stream: true });
      }
      outcome = 'ended';
    } catch {
      outcome = 'failed';
    }
  })();
  const stream: Stream = {
    status: response.status,
    contentType: response.headers.get('content-type'),
    text: () => text,
    events: () =>
      text
        .split('\n\n')
        .slice(0, -1)
        .map((block) => block.split('\n').filter((line) => !line.startsWith(':')))
        .filter((lines) => lines.length > 0)
        .map((lines) => {
          const field = (name: string) =>
            lines.filter((l) => l.startsWith(`${name}: `)).map((l) => l.slice(name.length + 2));
          return { id: field('id')[0], event: field('event')[0], data: field('data').join('\n') };
        }),
    outcome: () => outcome,
    close: () => controller.abort(),
  };
  streams.push(stream);
  return stream;
}

/** The notifications a stream has delivered, parsed. */
const notificationsOn = (stream: Stream) =>
  stream
    .events()
    .filter((e) => e.event === 'notification')
    .map((e) => ({ sseId: e.id, ...(JSON.parse(e.data) as NotificationView) }));

interface NotificationView {
  id: string;
  eventId: string;
  userId: string;
  kind: string;
  subjectType: string;
  subjectId: string | null;
  orderId: string | null;
  subject: string;
  actor: string | null;
}

async function list(query: string): Promise<NotificationView[]> {
  const response = await fetch(`${http}/notifications?${query}`);
  expect(response.status).toBe(200);
  return ((await response.json()) as { items: NotificationView[] }).items;
}

async function publish(...events: AnyEvent[]) {
  for (const event of events)
    await producer.send(event.type.startsWith('order.') ? topics.orders : topics.users, [
      { key: event.subject, value: JSON.stringify(event) },
    ]);
}

const waitForList = (query: string, count: number) =>
  waitFor(
    async () => {
      const items = await list(query);
      return items.length >= count ? items : undefined;
    },
    { timeoutMs: 30_000, message: `fewer than ${count} notifications for ${query}` },
  );

describe('what a notification is about', () => {
  it('names its order (or user) as fields in the list, the filter and the live stream', async () => {
    const user = userRegistered();
    const userId = user.data.userId;
    const [first, second] = [orderCreated(userId), orderCreated(userId)];
    const everything = await openStream(`/notifications/stream?userId=${userId}`);
    const firstOnly = await openStream(`/notifications/stream?orderId=${first.data.orderId}`);
    expect(everything.contentType).toMatch(/^text\/event-stream/);
    await publish(user, first, second);

    const all = await waitForList(`userId=${userId}`, 3);
    expect(all).toHaveLength(3);
    const welcome = all.find((n) => n.kind === 'welcome');
    expect(welcome).toMatchObject({ subjectType: 'user', subjectId: userId, orderId: null });

    const byOrder = await list(`orderId=${first.data.orderId}`);
    expect(byOrder).toEqual([
      expect.objectContaining({
        eventId: first.id,
        kind: 'order-confirmation',
        subjectType: 'order',
        subjectId: first.data.orderId,
        orderId: first.data.orderId,
      }),
    ]);
    // Combinable with userId and limit.
    expect(await list(`orderId=${first.data.orderId}&userId=${userId}&limit=5`)).toEqual(byOrder);
    expect(await list(`orderId=${first.data.orderId}&userId=${randomUUID()}`)).toEqual([]);
    expect(await list(`userId=${userId}&limit=2`)).toHaveLength(2);
    expect(await list(`orderId=${randomUUID()}`)).toEqual([]);
    const bad = await fetch(`${http}/notifications?orderId=not-an-id`);
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toMatch(/^application\/problem\+json/);

    await waitFor(() => (notificationsOn(everything).length >= 3 ? true : undefined), {
      timeoutMs: 10_000,
      message: 'the stream did not deliver all three notifications',
    });
    const live = notificationsOn(everything);
    expect(live.map((n) => n.id).sort()).toEqual(all.map((n) => n.id).sort());
    for (const n of live) expect(n.sseId).toBe(n.id);
    // What the stream pushes is the stored notification, field for field (createdAt included).
    for (const { sseId: _sseId, ...pushed } of live)
      expect(pushed).toEqual(all.find((n) => n.id === pushed.id));
    expect(live.find((n) => n.eventId === second.id)).toMatchObject({
      subjectType: 'order',
      subjectId: second.data.orderId,
      orderId: second.data.orderId,
    });
    expect(live.find((n) => n.eventId === user.id)).toMatchObject({
      subjectType: 'user',
      subjectId: userId,
      orderId: null,
    });
    await waitFor(() => (notificationsOn(firstOnly).length >= 1 ? true : undefined), {
      timeoutMs: 10_000,
      message: 'the stream filtered by order delivered nothing',
    });
    expect(notificationsOn(firstOnly).map((n) => n.eventId)).toEqual([first.id]);
  });

  it('describes the fields and the orderId filter in its OpenAPI document', async () => {
    interface Operation {
      parameters?: { name: string; in: string }[];
      responses: Record<
        string,
        { content?: Record<string, { schema: { properties?: Record<string, unknown> } }> }
      >;
    }
    const document = (await (await fetch(`${http}/docs/json`)).json()) as {
      paths: Record<string, { get?: Operation }>;
    };
    const listing = document.paths['/notifications']?.get;
    expect(listing?.parameters?.filter((p) => p.in === 'query').map((p) => p.name)).toEqual(
      expect.arrayContaining(['userId', 'orderId', 'limit']),
    );
    const items = listing?.responses['200']?.content?.['application/json']?.schema.properties?.[
      'items'
    ] as { items: { properties: Record<string, unknown>; required: string[] } };
    expect(Object.keys(items.items.properties)).toEqual(
      expect.arrayContaining(['subjectType', 'subjectId', 'orderId', 'subject', 'kind']),
    );
    expect(items.items.required).toEqual(
      expect.arrayContaining(['subjectType', 'subjectId', 'orderId']),
    );
    const stream = document.paths['/notifications/stream']?.get;
    expect(stream?.parameters?.map((p) => `${p.in}:${p.name}`)).toEqual(
      expect.arrayContaining(['query:userId', 'query:orderId', 'header:last-event-id']),
    );
  });
});

describe('who caused it', () => {
  it("shows each event's actor on the list and the live stream, and null for an event that names none", async () => {
    const userId = randomUUID();
    const user = userRegistered(userId, { actor: 'service:console' });
    const ordered = orderCreated(userId, { actor: `user:${userId}` });
    const anonymous = orderCreated(userId);
    const stream = await openStream(`/notifications/stream?userId=${userId}`);
    // The user event is stored on its own, the order events by the batch path.
    await publish(user, ordered, anonymous);
    const stored = await waitForList(`userId=${userId}`, 3);
    const actorOf = (items: readonly NotificationView[], eventId: string) =>
      items.find((n) => n.eventId === eventId)?.actor;
    expect(actorOf(stored, user.id)).toBe('service:console');
    expect(actorOf(stored, ordered.id)).toBe(`user:${userId}`);
    expect(actorOf(stored, anonymous.id)).toBeNull();
    await waitFor(() => (notificationsOn(stream).length >= 3 ? true : undefined), {
      timeoutMs: 10_000,
      message: 'the stream did not deliver all three notifications',
    });
    const live = notificationsOn(stream);
    expect(actorOf(live, user.id)).toBe('service:console');
    expect(actorOf(live, ordered.id)).toBe(`user:${userId}`);
    expect(actorOf(live, anonymous.id)).toBeNull();
  });
});

describe('resuming a stream', () => {
  it('sends what was stored after Last-Event-ID, then live notifications, each once', async () => {
    const user = userRegistered();
    const userId = user.data.userId;
    const missed = [orderCreated(userId), orderCreated(userId)];
    await publish(user, ...missed);
    const stored = (await waitForList(`userId=${userId}`, 3)).reverse(); // oldest first
    const welcome = stored.find((n) => n.kind === 'welcome');
    const after = stored.filter((n) => BigInt(n.id) > BigInt(welcome?.id ?? '0'));

    const resumed = await openStream(`/notifications/stream?userId=${userId}`, {
      'last-event-id': welcome?.id ?? '',
    });
    expect(resumed.status).toBe(200);
    const later = orderCreated(userId);
    await publish(later);
    await waitFor(
      () => (notificationsOn(resumed).some((n) => n.eventId === later.id) ? true : undefined),
      { timeoutMs: 30_000, message: 'the live notification after the replay did not arrive' },
    );
    const received = notificationsOn(resumed);
    expect(received.map((n) => n.id)).toEqual([
      ...after.map((n) => n.id),
      received.find((n) => n.eventId === later.id)?.id,
    ]);
    expect(new Set(received.map((n) => n.eventId)).size).toBe(received.length);

    const garbled = await fetch(`${http}/notifications/stream`, {
      headers: { 'last-event-id': 'yesterday' },
    });
    expect(garbled.status).toBe(400);
    expect(garbled.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  });
});

describe('migration 2', () => {
  it('backfills what notifications stored before it were about, guessing nothing', async () => {
    const legacy = await createTestDatabase('notification_legacy');
    const pool = createPool({ url: legacy.url });
    try {
      await migrate(
        pool,
        MIGRATIONS.filter((m) => m.version === 1),
      );
      const [userId, paidOrder, lonelyOrder] = [randomUUID(), randomUUID(), randomUUID()];
      const rows: [string, string, string][] = [
        ['user.registered.v1', 'Welcome, Ada!', 'Hello Ada, your account is ready.'],
        ['order.created.v1', `Order ${paidOrder.slice(0, 8)} confirmed`, 'Thank you, Ada.'],
        [
          'order.paid.v1',
          `Payment received for order ${paidOrder.slice(0, 8)}`,
          `We received 9.99 for order ${paidOrder}.`,
        ],
        ['order.created.v1', `Order ${lonelyOrder.slice(0, 8)} confirmed`, 'Thank you, Ada.'],
      ];
      for (const [type, subject, body] of rows)
        await pool.query(
          `INSERT INTO notifications (event_id, event_type, user_id, kind, recipient_name, recipient_email, subject, body)
           VALUES ($1, $2, $3, 'k', 'Ada', 'ada@example.com', $4, $5)`,
          [randomUUID(), type, userId, subject, body],
        );
      expect(await migrate(pool, MIGRATIONS)).toContain(2);
      const after = await pool.query<{
        event_type: string;
        subject_type: string;
        subject_id: string | null;
      }>('SELECT event_type, subject_type, subject_id FROM notifications ORDER BY id');
      expect(after.rows).toEqual([
        { event_type: 'user.registered.v1', subject_type: 'user', subject_id: userId },
        { event_type: 'order.created.v1', subject_type: 'order', subject_id: paidOrder },
        { event_type: 'order.paid.v1', subject_type: 'order', subject_id: paidOrder },
        // Only its prefix was kept, and no other row names the order in full.
        { event_type: 'order.created.v1', subject_type: 'order', subject_id: null },
      ]);
    } finally {
      await pool.end();
      await legacy.drop();
    }
  });
});

/**
 * How soon the process must be gone after SIGTERM with streams open. Leaving
 * the consumer group waits for the fetch in flight, which packages/kafka
 * bounds to 500 ms (maxWaitMs).
 */
const EXIT_BOUND_MS = 2_000;

// Last: it stops the service.
describe('stopping', () => {
  it('ends every open stream at once on SIGTERM, and exits 0', async () => {
    const open = await Promise.all([
      openStream('/notifications/stream'),
      openStream(`/notifications/stream?userId=${randomUUID()}`),
      openStream(`/notifications/stream?orderId=${randomUUID()}`),
    ]);
    await waitFor(() => (open.every((s) => s.text().includes(': connected')) ? true : undefined), {
      timeoutMs: 5_000,
      message: 'streams did not open',
    });
    const started = Date.now();
    const exited = service.stop('SIGTERM');
    await waitFor(() => (open.every((s) => s.outcome() !== 'open') ? true : undefined), {
      timeoutMs: 1_000,
      intervalMs: 10,
      message: 'streams still open 1 s after SIGTERM',
    });
    expect(open.map((s) => s.outcome())).toEqual(['ended', 'ended', 'ended']);
    const code = await exited;
    const tookMs = Date.now() - started;
    expect({ code, inTime: tookMs < EXIT_BOUND_MS }).toEqual({ code: 0, inTime: true });
    expect(service.output()).not.toMatch(/Reply was already sent|did not finish within/);
  }, 30_000);
});
