import { randomUUID } from 'node:crypto';
import Type from 'typebox';
import { openLoop, percentile, summarise } from '@comms/load';
import type { Measurement } from '@comms/load';
import { AppError } from '@comms/service-kit';
import type { HttpApp } from '@comms/service-kit';
import type { Config } from './config.js';
import type { Credentials } from './credentials.js';
import { callRest, newTrace } from './upstream.js';
import type { OrderGrpc } from './upstream.js';

/**
 * The console's short load: orders at a fixed rate for a few seconds, over
 * each chosen style at once, on loadgen's open-loop driver (`openLoop`, the
 * one the Kafka bench case uses) and summarised by its `summarise`. The page
 * polls the run and charts one point per style per second.
 */

/** The styles a load can place orders over. */
export const LOAD_STYLES = ['rest', 'grpc'] as const;
export type LoadStyle = (typeof LOAD_STYLES)[number];

/**
 * How much one run may ask for: a short demonstration, not a benchmark
 * (npm run bench is that). Per style: order-service's default rate limit is
 * 1200 REST requests a minute per client, and the console is one client.
 */
export const LOAD_LIMITS = {
  maxRatePerSecond: 100,
  maxDurationSeconds: 30,
  maxOrdersPerStyle: 1_000,
} as const;

/** What a run was asked for, once checked. */
export interface LoadParams {
  readonly ratePerSecond: number;
  readonly durationSeconds: number;
  readonly styles: readonly LoadStyle[];
}

/**
 * Checks what the page asked for against {@link LOAD_LIMITS}; a refusal is
 * INVALID_ARGUMENT (400) saying what was wrong and what is allowed.
 */
export function checkLoadParams(input: {
  ratePerSecond: number;
  durationSeconds: number;
  styles: readonly string[];
}): LoadParams {
  const { maxRatePerSecond, maxDurationSeconds, maxOrdersPerStyle } = LOAD_LIMITS;
  const refuse = (field: string, message: string) => {
    throw new AppError('INVALID_ARGUMENT', `${field} ${message}`, [{ field, message }]);
  };
  const { ratePerSecond, durationSeconds } = input;
  if (!Number.isInteger(ratePerSecond) || ratePerSecond < 1 || ratePerSecond > maxRatePerSecond)
    refuse(
      'ratePerSecond',
      `must be a whole number of orders a second from 1 to ${maxRatePerSecond}, got ${ratePerSecond}`,
    );
  if (
    !Number.isInteger(durationSeconds) ||
    durationSeconds < 1 ||
    durationSeconds > maxDurationSeconds
  )
    refuse(
      'durationSeconds',
      `must be a whole number of seconds from 1 to ${maxDurationSeconds}, got ${durationSeconds}`,
    );
  if (ratePerSecond * durationSeconds > maxOrdersPerStyle)
    refuse(
      'durationSeconds',
      `asks for ${ratePerSecond * durationSeconds} orders per style; at most ${maxOrdersPerStyle} (rate times seconds)`,
    );
  const styles = [...new Set(input.styles)];
  if (styles.length === 0) refuse('styles', `must name at least one of ${LOAD_STYLES.join(', ')}`);
  for (const style of styles)
    if (!(LOAD_STYLES as readonly string[]).includes(style))
      refuse('styles', `must be among ${LOAD_STYLES.join(', ')}, got '${style.slice(0, 20)}'`);
  return { ratePerSecond, durationSeconds, styles: styles as LoadStyle[] };
}

/** One style's figures over one second of the run, by when the answers came. */
export interface LoadPoint {
  readonly second: number;
  readonly style: LoadStyle;
  /** Orders accepted in that second. */
  readonly accepted: number;
  readonly errors: number;
  readonly p50Ms: number | null;
  readonly p95Ms: number | null;
}

interface Bucket {
  latencies: number[];
  errors: number;
}

/**
 * Turns the samples into points: every second from the first to `upTo`
 * (exclusive), for every style, an empty second included (a stall shows as
 * a drop, not as a gap).
 */
export function pointsOf(
  buckets: ReadonlyMap<LoadStyle, ReadonlyMap<number, Bucket>>,
  styles: readonly LoadStyle[],
  upTo: number,
): LoadPoint[] {
  const points: LoadPoint[] = [];
  for (let second = 0; second < upTo; second++) {
    for (const style of styles) {
      const bucket = buckets.get(style)?.get(second);
      const sorted = [...(bucket?.latencies ?? [])].sort((a, b) => a - b);
      const round = (ms: number) => Math.round(ms * 10) / 10;
      points.push({
        second,
        style,
        accepted: sorted.length,
        errors: bucket?.errors ?? 0,
        p50Ms: sorted.length === 0 ? null : round(percentile(sorted, 0.5)),
        p95Ms: sorted.length === 0 ? null : round(percentile(sorted, 0.95)),
      });
    }
  }
  return points;
}

interface Run {
  readonly id: string;
  readonly params: LoadParams;
  readonly startedAt: number;
  state: 'running' | 'done' | 'failed';
  detail: string | undefined;
  readonly buckets: Map<LoadStyle, Map<number, Bucket>>;
  readonly latencies: Map<LoadStyle, number[]>;
  /** Why orders were refused: "503 UNAVAILABLE" -> how many. */
  readonly refusals: Map<string, number>;
  summary: Measurement[] | undefined;
  finishedAt: number | undefined;
}

const ITEMS = [{ productId: 'console-load', quantity: 1, price: '2.50' }];

/** Registers POST /api/load (start a run) and GET /api/load (the run, as it goes). */
export function registerLoad(
  app: HttpApp,
  deps: { config: Config; grpc: OrderGrpc; credentials: Credentials },
): void {
  const { config, grpc, credentials } = deps;
  const timeoutMs = config.UPSTREAM_TIMEOUT_MS;
  const stop = new AbortController();
  let run: Run | undefined;
  let finished: Promise<void> | undefined;
  app.addHook('preClose', async () => {
    stop.abort();
    await finished;
  });

  /** Places one order over `style`; resolves when accepted, rejects naming the refusal. */
  const place = async (style: LoadStyle, userId: string): Promise<void> => {
    const { traceparent } = newTrace();
    // The customer's token: signed in once when the run starts, then from the cache.
    const acting = { kind: 'user', userId } as const;
    if (style === 'grpc') {
      const answer = await credentials.call(
        acting,
        (authorization) =>
          grpc.createOrder({ userId, items: ITEMS }, traceparent, timeoutMs, authorization),
        (answer) => !answer.ok && answer.code === 'UNAUTHENTICATED',
      );
      if (!answer.ok) throw new Error(`${answer.status} ${answer.code}`);
      return;
    }
    const answer = await credentials.call(acting, (authorization) =>
      callRest('order-service', `${config.orderServiceHttp}/orders`, {
        method: 'POST',
        body: { userId, items: ITEMS },
        headers: { traceparent, ...authorization },
        timeoutMs,
      }),
    );
    if (answer.status !== 201) {
      const code = (answer.body as { code?: unknown } | undefined)?.code;
      throw new Error(`${answer.status}${typeof code === 'string' ? ` ${code}` : ''}`);
    }
  };

  const execute = async (current: Run, userId: string): Promise<void> => {
    const durationMs = current.params.durationSeconds * 1000;
    const summaries = await Promise.all(
      current.params.styles.map(async (style) => {
        const buckets = current.buckets.get(style) ?? new Map<number, Bucket>();
        const latencies = current.latencies.get(style) ?? [];
        const record = (at: number, latency: number | undefined, reason?: string) => {
          const second = Math.floor((at - current.startedAt) / 1000);
          let bucket = buckets.get(second);
          if (bucket === undefined) buckets.set(second, (bucket = { latencies: [], errors: 0 }));
          if (latency === undefined) {
            bucket.errors++;
            const key = `${style.toUpperCase()} ${reason ?? 'refused'}`;
            current.refusals.set(key, (current.refusals.get(key) ?? 0) + 1);
          } else {
            bucket.latencies.push(latency);
            latencies.push(latency);
          }
        };
        const started = performance.now();
        const loop = await openLoop(
          {
            ratePerSecond: current.params.ratePerSecond,
            durationMs,
            maxInFlight: 200,
            signal: stop.signal,
          },
          async () => {
            const t0 = performance.now();
            try {
              await place(style, userId);
              record(Date.now(), performance.now() - t0);
            } catch (error) {
              record(Date.now(), undefined, (error as Error).message.slice(0, 80));
              throw error;
            }
          },
        );
        return summarise(
          style === 'rest' ? 'REST POST /orders' : 'gRPC CreateOrder',
          latencies,
          // The driver's count: refused calls, and calls it never started (too many in flight).
          loop.errors,
          performance.now() - started,
        );
      }),
    );
    current.summary = summaries;
  };

  const view = (current: Run) => {
    const upTo =
      current.state === 'running'
        ? Math.floor((Date.now() - current.startedAt) / 1000)
        : Math.max(
            current.params.durationSeconds,
            ...[...current.buckets.values()].flatMap((b) => [...b.keys()].map((s) => s + 1)),
          );
    return {
      id: current.id,
      state: current.state,
      detail: current.detail ?? null,
      ...current.params,
      startedAt: new Date(current.startedAt).toISOString(),
      elapsedSeconds:
        Math.round(((current.finishedAt ?? Date.now()) - current.startedAt) / 100) / 10,
      points: pointsOf(current.buckets, current.params.styles, upTo),
      refusals: Object.fromEntries(current.refusals),
      summary: current.summary ?? null,
    };
  };

  const Params = Type.Object(
    {
      ratePerSecond: Type.Integer({
        description: `orders a second per style, 1 to ${LOAD_LIMITS.maxRatePerSecond}`,
      }),
      durationSeconds: Type.Integer({
        description: `1 to ${LOAD_LIMITS.maxDurationSeconds} seconds, at most ${LOAD_LIMITS.maxOrdersPerStyle} orders per style`,
      }),
      styles: Type.Array(Type.String({ maxLength: 20 }), { maxItems: 4 }),
    },
    { additionalProperties: false },
  );

  app.post(
    '/api/load',
    {
      schema: {
        summary: 'Start a short load: orders at a fixed rate over each style (REST, gRPC)',
        body: Params,
      },
    },
    async (request, reply) => {
      const params = checkLoadParams(request.body);
      if (run?.state === 'running')
        throw new AppError('ABORTED', `a load is already running (${run.id}); wait for it to end`);
      // One customer per run, registered the documented way.
      const user = await credentials.call({ kind: 'console', api: 'user-service' }, (headers) =>
        callRest('user-service', `${config.userServiceHttp}/users`, {
          method: 'POST',
          body: { name: 'Load Tester', email: `load-${randomUUID()}@example.com` },
          headers,
          timeoutMs,
        }),
      );
      const userId = (user.body as { id?: unknown } | undefined)?.id;
      if (user.status !== 201 || typeof userId !== 'string') {
        // A refusal (the console's token refused: 401, 403) is user-service's own problem document.
        if (user.status >= 400 && user.status < 500)
          return reply
            .status(user.status)
            .type(user.headers.get('content-type') ?? 'application/problem+json')
            .send(user.body);
        throw new AppError(
          'UNAVAILABLE',
          `user-service did not register the load's customer (${user.status})`,
        );
      }
      // Signed in before the first order, so no order waits for it (and a refusal is seen here).
      await credentials.headers({ kind: 'user', userId });
      const current: Run = {
        id: randomUUID(),
        params,
        startedAt: Date.now(),
        state: 'running',
        detail: undefined,
        buckets: new Map(params.styles.map((s) => [s, new Map<number, Bucket>()])),
        latencies: new Map(params.styles.map((s) => [s, []])),
        refusals: new Map(),
        summary: undefined,
        finishedAt: undefined,
      };
      run = current;
      finished = execute(current, userId).then(
        () => {
          current.state = 'done';
          current.finishedAt = Date.now();
        },
        (error: unknown) => {
          current.state = 'failed';
          current.detail = (error as Error).message;
          current.finishedAt = Date.now();
        },
      );
      return reply.status(202).send(view(current));
    },
  );

  // The current or last run, its points so far; the page polls it while a run goes.
  app.get('/api/load', { logLevel: 'warn' }, () => ({
    limits: LOAD_LIMITS,
    styles: LOAD_STYLES,
    run: run === undefined ? null : view(run),
  }));
}
