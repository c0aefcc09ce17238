import { randomUUID } from 'node:crypto';
import { credentials, makeGenericClientConstructor, Metadata } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import autocannon from 'autocannon';
import { UserServiceClient, ValidateUserRequest } from '@comms/contracts/grpc';
import { createPool, DEFAULT_POOL_SIZE, withDatabase, withTransaction } from '@comms/postgres';
import type { RunningSystem } from '@comms/local-system';
import { withCpu } from './cpu.js';
import type { Classifier } from './cpu.js';
import { ECHO_SERVICE } from './echo.js';
import { closedLoop, summarise } from './measure.js';
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

// Pool sizes: a raw baseline gets as many connections as the service it is
// compared with. user-service keeps packages/postgres' default; the bench
// starts order-service with DATABASE_POOL_SIZE set to this.
export const USER_SERVICE_POOL = DEFAULT_POOL_SIZE;
export const ORDER_SERVICE_POOL = 20;

/** order-service's pool size as the system was started with it. */
export function orderServicePool(system: RunningSystem): number {
  const size = Number(system.services['order-service'].env['DATABASE_POOL_SIZE'] ?? Number.NaN);
  if (!Number.isInteger(size) || size < 1)
    throw new Error(
      'the bench needs order-service started with DATABASE_POOL_SIZE (a whole number) to size its baseline',
    );
  return size;
}

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
  // The bench's own copy of the users table, with one row shaped like the
  // bench user's, in a database of its own: the bench reads no service's tables.
  const copy = await scratchDatabase(context.system);
  const pool = createPool({
    url: copy.url,
    applicationName: 'bench-raw-read',
    max: USER_SERVICE_POOL,
  });
  try {
    await pool.query(`CREATE TABLE users (
      id uuid PRIMARY KEY,
      seq bigserial NOT NULL UNIQUE,
      name text NOT NULL,
      email text NOT NULL UNIQUE,
      status text NOT NULL DEFAULT 'active',
      created_at timestamptz NOT NULL DEFAULT now()
    )`);
    await pool.query('INSERT INTO users (id, name, email) VALUES ($1, $2, $3)', [
      context.userId,
      'Bench Mark',
      `bench-${context.userId}@example.com`,
    ]);
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
    await copy.drop();
  }
}

/** A database of the bench's own on the system's server, dropped after use. */
async function scratchDatabase(system: RunningSystem) {
  const name = `bench_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  const admin = createPool({ url: system.infra.databaseUrl, max: 1 });
  await admin.query(`CREATE DATABASE ${name}`);
  return {
    url: withDatabase(system.infra.databaseUrl, name),
    async drop() {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
      await admin.end();
    },
  };
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

const ORDER_ITEMS = [
  { productId: 'bench-book', quantity: 1, price: '12.50' },
  { productId: 'bench-pen', quantity: 3, price: '1.20' },
];
const ORDER_TOTAL = '16.10';
export const ORDER_BODY = (userId: string) => JSON.stringify({ userId, items: ORDER_ITEMS });

/**
 * End to end: POST /orders (validation over gRPC, event store, read model,
 * outbox, one transaction) at fixed concurrency, beside raw single-insert
 * PostgreSQL transactions with order-service's pool size.
 */
export async function ordersCase(context: CaseContext) {
  const { system } = context;
  const size = orderServicePool(system);
  const scratch = await scratchDatabase(system);
  const pool = createPool({
    url: scratch.url,
    applicationName: 'bench-raw-insert',
    max: size,
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
      closedLoop(`raw pg: BEGIN, INSERT, COMMIT, pool of ${String(size)}`, context, async () => {
        await withTransaction(pool, (client) =>
          client.query(
            'INSERT INTO raw_orders (id, user_id, items, total_amount) VALUES ($1, $2, $3, $4)',
            [randomUUID(), context.userId, items, ORDER_TOTAL],
          ),
        );
      }),
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
    await scratch.drop();
  }
}
