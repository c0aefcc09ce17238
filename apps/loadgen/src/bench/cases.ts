import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPool, DEFAULT_POOL_SIZE, withDatabase } from '@comms/postgres';
import type { RunningSystem } from '@comms/local-system';
import { pollUntil } from '@comms/resilience';
import { withCpu } from './cpu.js';
import { USER_SELECT } from './echo.js';
import type { Classifier } from './cpu.js';
import { asBackOffice, asUser } from './identity.js';
import type { AuthHeaders } from './identity.js';
import { ghzLoad, startLoad } from './load.js';
import type { GrpcLoadSpec, LoadSpec } from './load.js';
import type { Measurement } from '@comms/load';
import { GENERATOR } from './report.js';
import { compare, interleave } from './trials.js';
import type { Comparison, Trial } from './trials.js';

/** What every case needs: the system, the baseline servers, and how hard and how often to push. */
export interface CaseContext {
  readonly system: RunningSystem;
  /** The baseline servers' ports (bare-servers.ts): ceilings and minimal implementations. */
  readonly bare: { readonly http: number; readonly grpc: number };
  readonly durationMs: number;
  /** Each side's warm-up before the rounds; its figures are dropped. */
  readonly warmupMs: number;
  /** Interleaved rounds per case; each side runs once per round. */
  readonly trials: number;
  readonly concurrency: number;
  /** Orders per second of the Kafka lag case (issue #9: 200). */
  readonly kafkaRate: number;
  /** A registered, active user whose contact notification-service already knows. */
  readonly userId: string;
  /** The ghz binary, for the gRPC load. */
  readonly ghz: string;
  readonly classify: Classifier;
  readonly log: (line: string) => void;
}

/** The most CPU one accepted order may cost, summed over every party (issue #19). */
export const ORDER_CPU_TARGET_MS = 1.5;

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
  // A load generator ran in a child process that has ended by now: its time is counted as the generator's.
  const { result, cpu } = await withCpu(context.classify, run, GENERATOR);
  return cpu === undefined ? result : { ...result, cpu };
}

/**
 * One side whose load comes from a child process (autocannon or a pg loop),
 * with the cores each party used. The spec is made just before each trial,
 * so the token it carries is fresh for the trial.
 */
function loadSide(
  context: CaseContext,
  spec: (durationMs: number) => LoadSpec | Promise<LoadSpec>,
): Trial {
  return async (durationMs) => {
    let release = () => Promise.resolve();
    const made = await spec(durationMs);
    try {
      return await measured(context, async () => {
        const finished = await startLoad(made);
        release = finished.release;
        return finished.measurement;
      });
    } finally {
      await release();
    }
  };
}

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const PROTO = join(ROOT, 'proto');
const BENCH_PROTO = join(ROOT, 'apps/loadgen/proto');

/** No token: the baselines and ceilings, which check none. */
const anonymous = (): Promise<AuthHeaders> => Promise.resolve({});

/** One side whose load comes from ghz; `as` gives its metadata (a token) before each trial. */
function grpcSide(
  context: CaseContext,
  spec: Omit<GrpcLoadSpec, 'durationMs' | 'concurrency' | 'metadata'>,
  as: () => Promise<AuthHeaders> = anonymous,
): Trial {
  return async (durationMs) => {
    const metadata = await as();
    return measured(context, () =>
      ghzLoad(context.ghz, { ...spec, metadata, durationMs, concurrency: context.concurrency }),
    );
  };
}

/** An HTTP side; `as` gives its headers (a token) before each trial. */
const http = (
  context: CaseContext,
  name: string,
  url: string,
  options: { body?: string; as?: () => Promise<AuthHeaders> } = {},
): Trial =>
  loadSide(context, async (durationMs) => ({
    kind: 'http',
    name,
    url,
    method: options.body === undefined ? 'GET' : 'POST',
    ...(options.body === undefined ? {} : { body: options.body }),
    headers: await (options.as ?? anonymous)(),
    concurrency: context.concurrency,
    durationMs,
  }));

const validateUser = (
  context: CaseContext,
  name: string,
  address: string,
  as: () => Promise<AuthHeaders> = anonymous,
): Trial =>
  grpcSide(
    context,
    {
      name,
      address,
      proto: join(PROTO, 'user/v1/user.proto'),
      importPaths: [PROTO],
      call: 'user.v1.UserService.ValidateUser',
      data: { user_id: context.userId },
    },
    as,
  );

const rounds = <K extends string>(context: CaseContext, sides: Record<K, Trial>) =>
  interleave(sides, context);

/**
 * REST: GET /users/:id beside the minimal fastify + pg route doing the same
 * read (the ratio that judges the service), with the bare route as the
 * ceiling and the hop taken apart: the service's HTTP stack without the
 * database, and the database read without HTTP.
 */
export async function restCase(context: CaseContext): Promise<Comparison> {
  const users = context.system.services['user-service'];
  const bare = `http://127.0.0.1:${String(context.bare.http)}`;
  const measuredRounds = await rounds(context, {
    subject: http(context, 'user-service GET /users/:id', `${users.http}/users/${context.userId}`, {
      as: () => asBackOffice(context.system),
    }),
    baseline: http(
      context,
      `minimal fastify + pg GET /users/:id, pool of ${String(USER_SERVICE_POOL)}`,
      `${bare}/users/${context.userId}`,
    ),
    ceiling: http(context, 'bare fastify GET /hello', `${bare}/hello`),
    stack: http(
      context,
      'user-service GET /healthz (its HTTP stack, no database)',
      `${users.http}/healthz`,
    ),
    read: loadSide(context, (durationMs) => ({
      kind: 'pg',
      name: `raw pg: the same SELECT, pool of ${String(USER_SERVICE_POOL)} (no HTTP)`,
      url: userDatabase(context.system),
      poolSize: USER_SERVICE_POOL,
      sql: USER_SELECT,
      params: [context.userId],
      transaction: false,
      rows: 1,
      concurrency: context.concurrency,
      durationMs,
    })),
  });
  return compare(
    {
      style: 'REST',
      question:
        'user-service’s GET /users/:id vs the least fastify + pg code that does the same read',
      ratioOf: 'throughput',
      target: { kind: 'ratio', min: 0.7 },
    },
    measuredRounds,
    { subject: 'subject', baseline: 'baseline', ceiling: 'ceiling', breakdown: ['stack', 'read'] },
  );
}

/** user-service's own database: the minimal implementations read the same rows it does. */
export function userDatabase(system: RunningSystem): string {
  const url = system.databases['user-service'];
  if (url === undefined) throw new Error('the system has no user-service database to read');
  return url;
}

/**
 * gRPC: ValidateUser beside the minimal grpc-js + pg server doing the same
 * read (the ratio that judges the service), with a bare unary echo of the
 * same request bytes as the ceiling. ghz drives all three.
 */
export async function grpcCase(context: CaseContext): Promise<Comparison> {
  const users = context.system.services['user-service'];
  const bare = `127.0.0.1:${String(context.bare.grpc)}`;
  const measuredRounds = await rounds(context, {
    subject: validateUser(context, 'user-service ValidateUser', users.grpc ?? '', () =>
      asBackOffice(context.system),
    ),
    baseline: validateUser(
      context,
      `minimal grpc-js + pg ValidateUser, pool of ${String(USER_SERVICE_POOL)}`,
      bare,
    ),
    ceiling: grpcSide(context, {
      name: 'bare grpc-js unary echo',
      address: bare,
      proto: join(BENCH_PROTO, 'bench/v1/echo.proto'),
      importPaths: [BENCH_PROTO, PROTO],
      call: 'bench.v1.EchoService.Echo',
      data: { user_id: context.userId },
    }),
  });
  return compare(
    {
      style: 'gRPC',
      question:
        'user-service’s ValidateUser vs the least grpc-js + pg code that does the same read',
      ratioOf: 'throughput',
      target: { kind: 'ratio', min: 0.7 },
    },
    measuredRounds,
    { subject: 'subject', baseline: 'baseline', ceiling: 'ceiling' },
  );
}

/**
 * Shared database: the user check order-service makes with
 * USER_VALIDATION=shared-db, the same query on user-service's `user_directory`
 * view through the read-only role, beside the same check asked over gRPC
 * (ValidateUser). Both sides go through public contracts only (the view and
 * the proto), so neither carries order-service's deadline, retries or breaker.
 */
export async function sharedDbCase(context: CaseContext): Promise<Comparison> {
  const users = context.system.services['user-service'];
  const measuredRounds = await rounds(context, {
    subject: loadSide(context, (durationMs) => ({
      kind: 'pg',
      name: 'user check reading user_directory',
      url: context.system.databases['shared-db reader'] ?? '',
      // As many connections as the closed loop has callers: the pool is not the bottleneck.
      poolSize: context.concurrency,
      sql: 'SELECT name, status FROM user_directory WHERE id = $1',
      params: [context.userId],
      transaction: false,
      rows: 1,
      concurrency: context.concurrency,
      durationMs,
    })),
    baseline: validateUser(context, 'user check over gRPC (ValidateUser)', users.grpc ?? '', () =>
      asBackOffice(context.system),
    ),
  });
  return compare(
    {
      style: 'Shared database',
      question: 'read the other service’s view directly vs ask it over gRPC',
      ratioOf: 'throughput',
    },
    measuredRounds,
    { subject: 'subject', baseline: 'baseline' },
  );
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
 * PostgreSQL transactions with order-service's pool size, on a table of the
 * bench's own in a database of its own.
 */
export async function ordersCase(context: CaseContext): Promise<Comparison> {
  const { system } = context;
  const size = orderServicePool(system);
  const scratch = await scratchDatabase(system);
  try {
    const setup = createPool({ url: scratch.url, max: 1 });
    await setup.query(`CREATE TABLE raw_orders (
      id uuid PRIMARY KEY,
      user_id uuid NOT NULL,
      items jsonb NOT NULL,
      total_amount numeric(14, 2) NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    )`);
    await setup.end();
    const measuredRounds = await rounds(context, {
      subject: http(
        context,
        'order-service POST /orders',
        `${system.services['order-service'].http}/orders`,
        {
          body: ORDER_BODY(context.userId),
          // The bench user places its orders with its own token.
          as: () => asUser(system, context.userId),
        },
      ),
      baseline: loadSide(context, (durationMs) => ({
        kind: 'pg',
        name: `raw pg: BEGIN, INSERT, COMMIT, pool of ${String(size)}`,
        url: scratch.url,
        poolSize: size,
        sql: 'INSERT INTO raw_orders (id, user_id, items, total_amount) VALUES ($1, $2, $3, $4)',
        params: ['', context.userId, JSON.stringify(ORDER_ITEMS), ORDER_TOTAL],
        freshIdParam: 0,
        transaction: true,
        rows: 1,
        concurrency: context.concurrency,
        durationMs,
      })),
    });
    return compare(
      {
        style: 'End to end',
        question:
          'placing an order (gRPC check, event store, read model, outbox) vs one INSERT transaction',
        ratioOf: 'throughput',
        target: { kind: 'ratio', min: 0.15 },
        cpuTargetMs: ORDER_CPU_TARGET_MS,
      },
      measuredRounds,
      { subject: 'subject', baseline: 'baseline' },
    );
  } finally {
    await scratch.drop();
  }
}

/**
 * Registers a bench user as the back office does (its own token for
 * user-service) and waits until notification-service knows it (its welcome
 * notification is stored, read with the user's token).
 */
export async function benchUser(system: RunningSystem): Promise<string> {
  const created = await fetch(`${system.services['user-service'].http}/users`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(await asBackOffice(system)) },
    body: JSON.stringify({ name: 'Bench Mark', email: `bench-${randomUUID()}@example.com` }),
  });
  if (created.status !== 201) throw new Error(`creating the bench user: ${created.status}`);
  const { id } = (await created.json()) as { id: string };
  // Its welcome notification is stored with its contact: then it knows the user.
  const notifications = `${system.services['notification-service'].http}/notifications?userId=${id}`;
  await pollUntil(
    async () => {
      const answer = await fetch(notifications, {
        headers: await asUser(system, id, 'notification-service'),
      });
      const { items } = (await answer.json()) as { items: unknown[] };
      return items.length > 0 ? true : undefined;
    },
    {
      timeoutMs: 60_000,
      onTimeout: () => new Error('notification-service did not learn the bench user within 60 s'),
    },
  );
  return id;
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
