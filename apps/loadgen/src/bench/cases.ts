import { randomUUID } from 'node:crypto';
import { credentials, makeGenericClientConstructor, Metadata } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import autocannon from 'autocannon';
import { UserServiceClient, ValidateUserRequest } from '@comms/contracts/grpc';
import { createKafka } from '@comms/kafka';
import type { IncomingMessage } from '@comms/kafka';
import { createPool, DEFAULT_POOL_SIZE, withDatabase, withTransaction } from '@comms/postgres';
import type { RunningSystem } from '@comms/local-system';
import { withCpu } from './cpu.js';
import type { Classifier } from './cpu.js';
import { ECHO_SERVICE } from './echo.js';
import { closedLoop, openLoop, summarise } from './measure.js';
import type { Measurement } from './measure.js';

/** What every case needs: the system, the bare servers, and how hard to push. */
export interface CaseContext {
  readonly system: RunningSystem;
  readonly bare: { readonly http: number; readonly grpc: number };
  readonly durationMs: number;
  readonly concurrency: number;
  /** Orders per second of the Kafka lag case (issue #9: 200). */
  readonly kafkaRate: number;
  /** A registered, active user whose contact notification-service already knows. */
  readonly userId: string;
  readonly classify: Classifier;
  readonly log: (line: string) => void;
}

// Pool sizes of the services: a raw baseline gets the same number of
// connections as the service it is compared with. user-service keeps the
// default of packages/postgres; order-service chooses its own in its main.ts,
// which nothing outside it can read yet, so that one is a copy.
export const USER_SERVICE_POOL = DEFAULT_POOL_SIZE;
export const ORDER_SERVICE_POOL = 20;

/** Runs a measurement and attaches the cores each party used meanwhile. */
export async function measured(
  context: Pick<CaseContext, 'classify'>,
  run: () => Promise<Measurement>,
): Promise<Measurement> {
  const { result, cpu } = await withCpu(context.classify, run);
  return cpu === undefined ? result : { ...result, cpu };
}

/** HTTP load with autocannon; every response time is kept for exact percentiles. */
export async function httpLoad(
  name: string,
  request: { url: string; method?: 'GET' | 'POST'; body?: string },
  options: { durationMs: number; concurrency: number },
): Promise<Measurement> {
  const latencies: number[] = [];
  const started = performance.now();
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: request.url,
        method: request.method ?? 'GET',
        ...(request.body === undefined
          ? {}
          : { body: request.body, headers: { 'content-type': 'application/json' } }),
        connections: options.concurrency,
        duration: options.durationMs / 1000,
      },
      (error: unknown, finished: autocannon.Result) => {
        if (error === null || error === undefined) resolve(finished);
        else
          reject(
            error instanceof Error ? error : new Error(`autocannon: ${JSON.stringify(error)}`),
          );
      },
    );
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      if (statusCode < 400) latencies.push(responseTime);
    });
  });
  const errors = result.errors + result.timeouts + result.non2xx;
  return summarise(name, latencies, errors, performance.now() - started);
}

const unary = <T>(invoke: (done: (error: ServiceError | null, value?: T) => void) => void) =>
  new Promise<T>((resolve, reject) => {
    invoke((error, value) => {
      if (error === null) resolve(value as T);
      else reject(error);
    });
  });

/** REST: GET /users/:id beside a bare route, with the hop taken apart. */
export async function restCase(context: CaseContext) {
  const users = context.system.services['user-service'];
  const baseline = await measured(context, () =>
    httpLoad(
      'bare fastify GET /hello',
      { url: `http://127.0.0.1:${context.bare.http}/hello` },
      context,
    ),
  );
  const subject = await measured(context, () =>
    httpLoad(
      'user-service GET /users/:id',
      { url: `${users.http}/users/${context.userId}` },
      context,
    ),
  );
  // Where the time goes: the service's HTTP stack without the database, and
  // the database read without HTTP, from a pool of the service's size.
  const stack = await measured(context, () =>
    httpLoad(
      'user-service GET /healthz (its HTTP stack, no database)',
      { url: `${users.http}/healthz` },
      context,
    ),
  );
  const pool = createPool({
    url: context.system.databases['user-service'] ?? '',
    applicationName: 'bench-raw-read',
    max: USER_SERVICE_POOL,
  });
  try {
    const read = await measured(context, () =>
      closedLoop(
        `raw pg: the same SELECT, pool of ${String(USER_SERVICE_POOL)} (no HTTP)`,
        context,
        async () => {
          const result = await pool.query(
            'SELECT id, seq::text, name, email, status, created_at FROM users WHERE id = $1',
            [context.userId],
          );
          if (result.rowCount !== 1) throw new Error('the bench user is missing');
        },
      ),
    );
    return { subject, baseline, breakdown: [stack, read] };
  } finally {
    await pool.end();
  }
}

/** gRPC: ValidateUser beside a bare unary echo of the same request bytes. */
export async function grpcCase(context: CaseContext) {
  const users = context.system.services['user-service'];
  const userClient = new UserServiceClient(users.grpc ?? '', credentials.createInsecure());
  const Echo = makeGenericClientConstructor(ECHO_SERVICE, 'EchoService');
  const echoClient = new Echo(
    `127.0.0.1:${String(context.bare.grpc)}`,
    credentials.createInsecure(),
  );
  const payload = Buffer.from(ValidateUserRequest.encode({ userId: context.userId }).finish());
  try {
    const baseline = await measured(context, () =>
      closedLoop('bare grpc-js unary echo', context, async () => {
        await unary<Buffer>((done) => {
          echoClient.makeUnaryRequest(
            ECHO_SERVICE['echo']?.path ?? '',
            (value: Buffer) => value,
            (bytes: Buffer) => bytes,
            payload,
            done,
          );
        });
      }),
    );
    const subject = await measured(context, () =>
      closedLoop('user-service ValidateUser', context, async () => {
        const answer = await unary<{ valid: boolean }>((done) => {
          userClient.validateUser({ userId: context.userId }, new Metadata(), done);
        });
        if (!answer.valid) throw new Error('ValidateUser said the bench user is not valid');
      }),
    );
    return { subject, baseline };
  } finally {
    userClient.close();
    echoClient.close();
  }
}

/**
 * Shared database: the user check order-service makes with
 * USER_VALIDATION=shared-db, the same query on user-service's `user_directory`
 * view through the read-only role, beside the same check asked over gRPC
 * (ValidateUser). Both sides go through public contracts only (the view and
 * the proto), so neither carries order-service's deadline, retries or breaker.
 */
export async function sharedDbCase(context: CaseContext) {
  const users = context.system.services['user-service'];
  const client = new UserServiceClient(users.grpc ?? '', credentials.createInsecure());
  const directory = createPool({
    url: context.system.databases['shared-db reader'] ?? '',
    applicationName: 'bench-user-check',
    // As many connections as the closed loop has callers: the pool is not the bottleneck.
    max: context.concurrency,
  });
  try {
    const baseline = await measured(context, () =>
      closedLoop('user check over gRPC (ValidateUser)', context, async () => {
        const answer = await unary<{ valid: boolean; errorMessage: string }>((done) => {
          client.validateUser({ userId: context.userId }, new Metadata(), done);
        });
        if (!answer.valid) throw new Error(`the bench user is not valid: ${answer.errorMessage}`);
      }),
    );
    const subject = await measured(context, () =>
      closedLoop('user check reading user_directory', context, async () => {
        const { rows } = await directory.query<{ status: string }>(
          'SELECT name, status FROM user_directory WHERE id = $1',
          [context.userId],
        );
        if (rows[0]?.status !== 'active') throw new Error('the bench user is not active');
      }),
    );
    return { subject, baseline };
  } finally {
    client.close();
    await directory.end();
  }
}

async function waitUntil(
  what: string,
  timeoutMs: number,
  done: () => Promise<boolean> | boolean,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await done()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const ORDER_ITEMS = [
  { productId: 'bench-book', quantity: 1, price: '12.50' },
  { productId: 'bench-pen', quantity: 3, price: '1.20' },
];
const ORDER_TOTAL = '16.10';
const ORDER_BODY = (userId: string) => JSON.stringify({ userId, items: ORDER_ITEMS });

/**
 * Kafka: orders placed at a fixed rate, and the time from each order's
 * transaction (its outbox row) to the notification notification-service
 * stored for it, both by PostgreSQL's clock; beside a bare produce ->
 * consume through packages/kafka (kafkajs) at the same rate.
 */
export async function kafkaCase(context: CaseContext) {
  const { system } = context;
  const rate = context.kafkaRate;
  const settleMs = 30_000;

  // Baseline: the same rate of messages of about an event's size.
  const kafka = createKafka({ brokers: system.infra.kafkaBrokers.split(','), clientId: 'bench' });
  const topic = `bench-baseline-${randomUUID().slice(0, 8)}`;
  const admin = await kafka.admin();
  try {
    await admin.ensureTopics([{ topic, partitions: 3 }]);
  } finally {
    await admin.close();
  }
  const producer = await kafka.producer({ idempotent: true });
  const consumer = await kafka.consumer({ groupId: `bench-${randomUUID()}`, topics: [topic] });
  const lags: number[] = [];
  let baseline: Measurement;
  try {
    await consumer.run((message: IncomingMessage) => {
      const sentAt = Number(message.headers['sent-at']);
      lags.push(performance.timeOrigin + performance.now() - sentAt);
      return Promise.resolve();
    });
    if (!(await waitUntil('consumer join', 30_000, () => consumer.joined())))
      throw new Error('the baseline consumer did not join its group within 30 s');
    const filler = 'x'.repeat(600);
    baseline = await measured(context, async () => {
      const run = await openLoop({ ratePerSecond: rate, durationMs: context.durationMs }, (i) =>
        producer.send(topic, [
          {
            key: String(i % 64),
            value: filler,
            headers: { 'sent-at': String(performance.timeOrigin + performance.now()) },
          },
        ]),
      );
      const sent = run.started - run.errors;
      await waitUntil('baseline delivery', settleMs, () => lags.length >= sent);
      const missing = Math.max(0, sent - lags.length);
      return summarise(
        `bare produce -> consume, ${String(rate)} msg/s`,
        lags,
        run.errors + missing,
        run.durationMs,
      );
    });
  } finally {
    await consumer.close();
    await producer.close();
  }

  // Subject: real orders through order-service, the outbox, Kafka and notification-service.
  const orderService = system.services['order-service'];
  const ordersDb = createPool({ url: system.databases['order-service'] ?? '', max: 2 });
  const notificationsDb = createPool({
    url: system.databases['notification-service'] ?? '',
    max: 2,
  });
  try {
    const orderIds: string[] = [];
    const body = ORDER_BODY(context.userId);
    const subject = await measured(context, async () => {
      const run = await openLoop(
        { ratePerSecond: rate, durationMs: context.durationMs },
        async () => {
          const response = await fetch(`${orderService.http}/orders`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body,
          });
          if (response.status !== 201) throw new Error(`POST /orders answered ${response.status}`);
          orderIds.push(((await response.json()) as { orderId: string }).orderId);
        },
      );
      // Each accepted order's event id and the moment its transaction wrote it.
      const events = await ordersDb.query<{ event_id: string; at: string }>(
        `SELECT (payload::jsonb)->>'id' AS event_id,
                (extract(epoch FROM created_at) * 1000)::text AS at
           FROM outbox
          WHERE (payload::jsonb)->>'type' = 'order.created.v1'
            AND (payload::jsonb)->>'subject' = ANY($1::text[])`,
        [orderIds],
      );
      const writtenAt = new Map(events.rows.map((row) => [row.event_id, Number(row.at)]));
      const ids = [...writtenAt.keys()];
      const stored = async () =>
        (
          await notificationsDb.query<{ event_id: string; at: string }>(
            `SELECT event_id::text, (extract(epoch FROM created_at) * 1000)::text AS at
               FROM notifications WHERE event_id = ANY($1::uuid[])`,
            [ids],
          )
        ).rows;
      let rows = await stored();
      await waitUntil('notifications', settleMs, async () => {
        rows = await stored();
        return rows.length >= ids.length;
      });
      const lagMs = rows.map((row) => Number(row.at) - (writtenAt.get(row.event_id) ?? 0));
      const missing = orderIds.length - rows.length;
      return summarise(
        `order.created -> stored notification, ${String(rate)} orders/s`,
        lagMs,
        run.errors + missing,
        run.durationMs,
      );
    });
    return { subject, baseline };
  } finally {
    await Promise.all([ordersDb.end(), notificationsDb.end()]);
  }
}

/**
 * End to end: POST /orders (validation over gRPC, event store, read model,
 * outbox, one transaction) at fixed concurrency, beside raw single-insert
 * PostgreSQL transactions with order-service's pool size.
 */
export async function ordersCase(context: CaseContext) {
  const { system } = context;
  const database = `bench_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  const admin = createPool({ url: system.infra.databaseUrl, max: 1 });
  await admin.query(`CREATE DATABASE ${database}`);
  const pool = createPool({
    url: withDatabase(system.infra.databaseUrl, database),
    applicationName: 'bench-raw-insert',
    max: ORDER_SERVICE_POOL,
  });
  try {
    await pool.query(`CREATE TABLE raw_orders (
      id uuid PRIMARY KEY,
      user_id uuid NOT NULL,
      items jsonb NOT NULL,
      total_amount numeric(14, 2) NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    )`);
    const items = JSON.stringify(ORDER_ITEMS);
    const baseline = await measured(context, () =>
      closedLoop(
        `raw pg: BEGIN, INSERT, COMMIT, pool of ${String(ORDER_SERVICE_POOL)}`,
        context,
        async () => {
          await withTransaction(pool, (client) =>
            client.query(
              'INSERT INTO raw_orders (id, user_id, items, total_amount) VALUES ($1, $2, $3, $4)',
              [randomUUID(), context.userId, items, ORDER_TOTAL],
            ),
          );
        },
      ),
    );
    const subject = await measured(context, () =>
      httpLoad(
        'order-service POST /orders',
        {
          url: `${system.services['order-service'].http}/orders`,
          method: 'POST',
          body: ORDER_BODY(context.userId),
        },
        context,
      ),
    );
    return { subject, baseline };
  } finally {
    await pool.end();
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch(() => undefined);
    await admin.end();
  }
}
