import { randomUUID } from 'node:crypto';
import { createKafka } from '@comms/kafka';
import type { IncomingMessage, KafkaClientName } from '@comms/kafka';
import type { RunningSystem } from '@comms/local-system';
import { pollUntil } from '@comms/resilience';
import { measured, ORDER_BODY } from './cases.js';
import type { CaseContext } from './cases.js';
import { openLoop, summarise } from '@comms/load';
import type { Measurement } from '@comms/load';
import { judge, trialsOf } from './trials.js';
import type { Trials, Verdict } from './trials.js';
import { asUser } from './identity.js';
import type { AuthHeaders } from './identity.js';

/** The Kafka clients `KAFKA_CLIENT` can name, in the order each round runs them. */
export const KAFKA_CLIENTS: readonly KafkaClientName[] = ['kafkajs', 'platformatic'];

/** How long a trial waits for the last messages (or notifications) to arrive. */
const SETTLE_MS = 30_000;

/** One round's measurements on one client. */
export interface KafkaTrial {
  readonly client: KafkaClientName;
  /** Bare produce -> consume through packages/kafka on this client. */
  readonly bare: Measurement;
  /** Order placed -> notification stored, the services running on this client. */
  readonly orders: Measurement;
}

/** Requests to the services' public HTTP APIs, several at a time. */
async function eachLimited<T>(
  items: readonly T[],
  limit: number,
  call: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await call(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

async function getJson<T>(url: string, headers: AuthHeaders = {}): Promise<T> {
  const response = await fetch(url, { headers });
  if (!response.ok) throw new Error(`GET ${url} answered ${String(response.status)}`);
  return (await response.json()) as T;
}

/**
 * Bare produce -> consume through packages/kafka on `client`: messages of
 * about an event's size at the Kafka rate, each timed from `send` to the
 * consumer's handler.
 */
export async function bareKafkaTrial(
  context: CaseContext,
  client: KafkaClientName,
): Promise<Measurement> {
  const kafka = createKafka({
    brokers: context.system.infra.kafkaBrokers.split(','),
    clientId: `bench-${client}`,
    client,
  });
  const topic = `bench-baseline-${randomUUID().slice(0, 8)}`;
  const admin = await kafka.admin();
  try {
    await admin.ensureTopics([{ topic, partitions: 3 }]);
    return await bareRun(context, client, kafka, topic);
  } finally {
    await admin.deleteTopics([topic]).catch(() => undefined);
    await admin.close();
  }
}

async function bareRun(
  context: CaseContext,
  client: KafkaClientName,
  kafka: ReturnType<typeof createKafka>,
  topic: string,
): Promise<Measurement> {
  const rate = context.kafkaRate;
  const producer = await kafka.producer({ idempotent: true });
  const consumer = await kafka.consumer({ groupId: `bench-${randomUUID()}`, topics: [topic] });
  const lags: number[] = [];
  try {
    await consumer.run((message: IncomingMessage) => {
      const sentAt = Number(message.headers['sent-at']);
      lags.push(performance.timeOrigin + performance.now() - sentAt);
      return Promise.resolve();
    });
    await pollUntil(() => (consumer.joined() ? true : undefined), {
      timeoutMs: 30_000,
      onTimeout: () => new Error(`the ${client} baseline consumer did not join within 30 s`),
    });
    const filler = 'x'.repeat(600);
    const load = (durationMs: number) =>
      openLoop({ ratePerSecond: rate, durationMs }, (i) =>
        producer.send(topic, [
          {
            key: String(i % 64),
            value: filler,
            headers: { 'sent-at': String(performance.timeOrigin + performance.now()) },
          },
        ]),
      );
    // Warm-up at the same rate; its messages arrive before the clock starts and are dropped.
    if (context.warmupMs > 0) {
      const warm = await load(context.warmupMs);
      await pollUntil(() => (lags.length >= warm.started - warm.errors ? true : undefined), {
        timeoutMs: SETTLE_MS,
      }).catch(() => undefined);
      lags.length = 0;
    }
    return await measured(context, async () => {
      const run = await load(context.durationMs);
      const sent = run.started - run.errors;
      await pollUntil(() => (lags.length >= sent ? true : undefined), {
        timeoutMs: SETTLE_MS,
      }).catch(() => undefined);
      const missing = Math.max(0, sent - lags.length);
      return summarise(
        `bare produce -> consume, ${String(rate)} msg/s (${client})`,
        lags,
        run.errors + missing,
        run.durationMs,
      );
    });
  } finally {
    await consumer.close();
    await producer.close();
  }
}

/**
 * Restarts the three services with `KAFKA_CLIENT=client` unless they run on
 * it already, through the same startSystem handle `npm start` uses; each is
 * ready (its /readyz) before the next one goes.
 */
export async function runServicesOn(
  system: RunningSystem,
  client: KafkaClientName,
  log: (line: string) => void,
): Promise<void> {
  const names = ['user-service', 'order-service', 'notification-service'] as const;
  if (names.every((name) => (system.services[name].env['KAFKA_CLIENT'] ?? 'kafkajs') === client))
    return;
  log(`restarting the services with KAFKA_CLIENT=${client}`);
  for (const name of names) {
    await system.stopService(name);
    await system.startService(name, { KAFKA_CLIENT: client });
  }
}

interface OrderEvents {
  readonly events: ReadonlyArray<{ readonly version: number; readonly occurredAt: string }>;
}
interface NotificationList {
  readonly items: ReadonlyArray<{ readonly kind: string; readonly createdAt: string }>;
}

/**
 * Order placed -> notification stored, through the services' public APIs
 * only: orders are placed at the Kafka rate with `POST /orders`; each
 * order's creation time is its first event's `occurredAt`
 * (`GET /orders/:id/events`, order-service's clock) and its notification's
 * `createdAt` (`GET /notifications?orderId=`, PostgreSQL's clock on the same
 * machine) is when notification-service stored it.
 */
export async function ordersTrial(
  context: CaseContext,
  client: KafkaClientName,
): Promise<Measurement> {
  const orders = context.system.services['order-service'].http;
  const notifications = context.system.services['notification-service'].http;
  const body = ORDER_BODY(context.userId);
  // The bench user's own tokens: its orders, its notifications.
  const asOwner = () => asUser(context.system, context.userId);
  const asReader = () => asUser(context.system, context.userId, 'notification-service');
  const place = async () => {
    const response = await fetch(`${orders}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(await asOwner()) },
      body,
    });
    if (response.status !== 201) throw new Error(`POST /orders answered ${response.status}`);
    return ((await response.json()) as { orderId: string }).orderId;
  };
  const storedAt = new Map<string, number>();
  const lookUp = (ids: readonly string[]) =>
    eachLimited(ids, 8, async (id) => {
      const { items } = await getJson<NotificationList>(
        `${notifications}/notifications?orderId=${id}&limit=10`,
        await asReader(),
      );
      const confirmation = items.find((item) => item.kind === 'order-confirmation');
      if (confirmation !== undefined) storedAt.set(id, Date.parse(confirmation.createdAt));
    });
  const settle = (ids: readonly string[]) =>
    pollUntil(
      async () => {
        await lookUp(ids.filter((id) => !storedAt.has(id)));
        return ids.every((id) => storedAt.has(id)) ? true : undefined;
      },
      { timeoutMs: SETTLE_MS, intervalMs: 200 },
    );

  // One order first, so a service that just restarted has its connections
  // and group membership before the clock starts; then a warm-up at the
  // same rate, whose orders are settled and left out.
  await settle([await place()]);
  if (context.warmupMs > 0) {
    const warm: string[] = [];
    await openLoop({ ratePerSecond: context.kafkaRate, durationMs: context.warmupMs }, async () => {
      warm.push(await place());
    });
    await settle(warm).catch(() => undefined);
  }

  return measured(context, async () => {
    const orderIds: string[] = [];
    const run = await openLoop(
      { ratePerSecond: context.kafkaRate, durationMs: context.durationMs },
      async () => {
        orderIds.push(await place());
      },
    );
    const createdAt = new Map<string, number>();
    await eachLimited(orderIds, 8, async (id) => {
      const { events } = await getJson<OrderEvents>(
        `${orders}/orders/${id}/events`,
        await asOwner(),
      );
      const first = events.find((event) => event.version === 1);
      if (first !== undefined) createdAt.set(id, Date.parse(first.occurredAt));
    });
    await settle(orderIds).catch(() => undefined);
    const lagMs = orderIds.flatMap((id) => {
      const stored = storedAt.get(id);
      const created = createdAt.get(id);
      return stored === undefined || created === undefined ? [] : [stored - created];
    });
    return summarise(
      `order.created -> stored notification, ${String(context.kafkaRate)} orders/s (${client})`,
      lagMs,
      run.errors + (orderIds.length - lagMs.length),
      run.durationMs,
    );
  });
}

/**
 * Both clients side by side: `trials` rounds, each running kafkajs then
 * platformatic (the services restarted on each), so a noisy minute of the
 * machine hits both rather than one.
 */
export async function kafkaClientTrials(
  context: CaseContext,
  trials: number,
): Promise<KafkaTrial[]> {
  const done: KafkaTrial[] = [];
  for (let round = 1; round <= trials; round++) {
    for (const client of KAFKA_CLIENTS) {
      context.log(`  round ${String(round)} of ${String(trials)}: ${client}`);
      await runServicesOn(context.system, client, context.log);
      const bare = await bareKafkaTrial(context, client);
      const orders = await ordersTrial(context, client);
      done.push({ client, bare, orders });
    }
  }
  // Leave the system as it was started: on the default client.
  await runServicesOn(context.system, 'kafkajs', context.log);
  return done;
}

/** One path on both clients over all rounds, and platformatic over kafkajs round by round. */
export interface ClientsOnPath {
  readonly kafkajs: Trials;
  readonly platformatic: Trials;
  /** platformatic / kafkajs (below 1: platformatic is faster), with its spread and reliability. */
  readonly p50: Verdict;
  readonly p99: Verdict;
}

/** Both paths on both clients. */
export interface KafkaClientsReport {
  readonly trials: number;
  readonly stealPercent?: number;
  readonly bare: ClientsOnPath;
  readonly orders: ClientsOnPath;
  readonly runs: readonly KafkaTrial[];
  /** Order -> stored notification at a higher rate, on the default client (kafkajs). */
  readonly highRate?: HighRate;
}

/** The order path at a rate above the comparison's, reported beside it (no baseline). */
export interface HighRate {
  readonly ratePerSecond: number;
  readonly orders: Trials;
}

/**
 * Order -> stored notification at `ratePerSecond` on the client the
 * services run on now, `trials` times; reported, not compared.
 */
export async function highRateTrials(
  context: CaseContext,
  ratePerSecond: number,
  trials: number,
): Promise<HighRate> {
  const runs: Measurement[] = [];
  for (let round = 1; round <= trials; round++) {
    context.log(`  ${String(ratePerSecond)} orders/s, round ${String(round)} of ${String(trials)}`);
    runs.push(await ordersTrial({ ...context, kafkaRate: ratePerSecond }, 'kafkajs'));
  }
  return { ratePerSecond, orders: trialsOf(runs[0]?.name ?? 'orders', runs) };
}

/**
 * Medians, spreads and ratios of interleaved rounds, per path and client,
 * judged as every other comparison of the bench is ({@link judge}).
 */
export function summariseKafkaClients(
  runs: readonly KafkaTrial[],
  steal?: number,
): KafkaClientsReport {
  const path = (which: 'bare' | 'orders'): ClientsOnPath => {
    const [kafkajs, platformatic] = KAFKA_CLIENTS.map((client) => {
      const trials = runs.filter((run) => run.client === client).map((run) => run[which]);
      return trialsOf(trials[0]?.name ?? `${which} (${client})`, trials);
    }) as [Trials, Trials];
    return {
      kafkajs,
      platformatic,
      p50: judge(platformatic, kafkajs, 'p50Ms', steal),
      p99: judge(platformatic, kafkajs, 'p99Ms', steal),
    };
  };
  const bare = path('bare');
  return {
    trials: bare.kafkajs.trials.length,
    ...(steal === undefined ? {} : { stealPercent: steal }),
    bare,
    orders: path('orders'),
    runs,
  };
}
