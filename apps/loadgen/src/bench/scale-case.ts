// The scale case: POST /orders with one instance each of order-service and
// notification-service beside two of each, in interleaved trials on one
// running system, and whether every order got its notification. The second
// instances are started (addInstance, then startService) and stopped
// (SIGTERM) between the sides: nobody calls order-service but the
// generator, which is given every instance URL, and notification-service
// takes its share by joining the consumer group, so neither needs its
// callers told. What limits the two-instance side is read from the cores
// each party kept busy.
import { TOPIC_PARTITIONS, TOPICS } from '@comms/contracts';
import type { RunningService, RunningSystem } from '@comms/local-system';
import { pollUntil } from '@comms/resilience';
import { confirmations, createdOrders } from '../reliability/harness.js';
import { benchUser, measured, ORDER_BODY } from './cases.js';
import type { CaseContext } from './cases.js';
import { busyCores, machineTicks } from './cpu.js';
import { startLoad } from './load.js';
import type { Measurement, Spread } from '@comms/load';
import { spread } from '@comms/load';
import { GENERATOR, GENERATOR_BOUND } from './report.js';
import { compare, interleave } from './trials.js';
import type { Comparison, Trial } from './trials.js';
import { asOperator, asUser } from './identity.js';

/** The services the case runs one and then two instances of. */
export const SCALED = ['order-service', 'notification-service'] as const;

/** How long a trial waits for its last notifications once the load has stopped. */
const SETTLE_MS = 60_000;

/** Busy cores at or above this share of the machine's mean it was saturated. */
export const SATURATED = 0.9;

/** Orders of one trial and their notifications, counted in the services' own tables. */
export interface Completion {
  /** order.created events stored for the trial's user. */
  readonly stored: number;
  /** Orders with exactly one confirmation. */
  readonly notified: number;
  /** Orders with none by the deadline. */
  readonly missing: number;
  /** Orders with more than one. */
  readonly doubled: number;
}

/**
 * Counts orders against confirmations: `orders` maps each order to its
 * order.created event id, `confirmations` each event id to the
 * notifications stored for it.
 */
export function completionOf(
  orders: ReadonlyMap<string, string>,
  confirmationsByEvent: ReadonlyMap<string, number>,
): Completion {
  let notified = 0;
  let missing = 0;
  let doubled = 0;
  for (const eventId of orders.values()) {
    const count = confirmationsByEvent.get(eventId) ?? 0;
    if (count === 0) missing += 1;
    else if (count === 1) notified += 1;
    else doubled += 1;
  }
  return { stored: orders.size, notified, missing, doubled };
}

/** One trial of one side, warm-ups included: its completion, drain time and the machine's busy cores. */
export interface ScaleRun extends Completion {
  readonly instances: number;
  /** The side's warm-up: its orders are counted, its times and cores are not. */
  readonly warmup: boolean;
  /** From the load's end until every order had a notification (or the deadline). */
  readonly drainMs: number;
  /** The whole machine's busy cores during the load, every process counted. */
  readonly machineCores?: number;
}

/** One side over all its runs. */
export interface ScaleSide extends Completion {
  readonly instances: number;
  /** Trials and warm-up, each with its own orders (all counted here). */
  readonly runs: number;
  /** Over the trials, not the warm-up. */
  readonly drainMs: Spread;
  readonly machineCores: Spread;
}

/** The scale case beside its comparison: completion per side and what limits it. */
export interface ScaleReport {
  readonly cpus: number;
  readonly one: ScaleSide;
  readonly two: ScaleSide;
  /** What limits the two-instance side on this machine, in a sentence. */
  readonly limit: string;
}

/**
 * Sums the orders of one side's runs, warm-up included; drain time and
 * machine cores are medians of its trials with their range.
 */
export function scaleSide(instances: number, runs: readonly ScaleRun[]): ScaleSide {
  const mine = runs.filter((run) => run.instances === instances);
  const trials = mine.filter((run) => !run.warmup);
  const sum = (pick: (run: ScaleRun) => number) => mine.reduce((n, run) => n + pick(run), 0);
  return {
    instances,
    runs: mine.length,
    stored: sum((run) => run.stored),
    notified: sum((run) => run.notified),
    missing: sum((run) => run.missing),
    doubled: sum((run) => run.doubled),
    drainMs: spread(trials.map((run) => run.drainMs)),
    machineCores: spread(trials.map((run) => run.machineCores ?? Number.NaN)),
  };
}

const cores = (value: number) => value.toFixed(2);

/**
 * What limits the two-instance side, from its parties' cores (medians of
 * its trials), the whole machine's busy cores when known, the machine's
 * core count and the two-over-one throughput ratio: the generator when it
 * is bound; the machine when its cores are (nearly) all busy, naming who
 * took them; otherwise not CPU at all.
 */
export function whatLimits(input: {
  readonly cpu?: Readonly<Record<string, number>>;
  readonly machineCores?: number;
  readonly cpus: number;
  readonly ratio: number;
}): string {
  const { cpu, cpus, ratio } = input;
  if (cpu === undefined || Object.keys(cpu).length === 0)
    return 'unknown: this platform reports no CPU time per process';
  const parties = Object.entries(cpu).sort(([, a], [, b]) => b - a);
  const ours = parties.reduce((n, [, value]) => n + value, 0);
  const busy = Math.max(ours, input.machineCores ?? ours);
  const others = busy - ours;
  const top = parties
    .slice(0, 4)
    .map(([party, value]) => `${party} ${cores(value)}`)
    .join(', ');
  const elsewhere = others >= 0.05 ? `, other processes ${cores(others)}` : '';
  const scaled = Number.isFinite(ratio)
    ? `two instances of each reached ${(ratio * 100).toFixed(0)}% of one's throughput`
    : 'the ratio is unknown';
  const generator = cpu[GENERATOR] ?? 0;
  if (generator >= GENERATOR_BOUND)
    return `the load generator: it kept ${cores(generator)} cores busy on its one event loop, so ${scaled} of what it could send, not of what the services could take (${top})`;
  if (busy >= SATURATED * cpus)
    return `the machine's ${String(cpus)} cores: ${cores(busy)} were busy (${top}${elsewhere}); a second instance of each service shares the same cores with PostgreSQL, Kafka and the generator instead of adding any, so ${scaled} rather than twice it`;
  return `not CPU: ${cores(busy)} of ${String(cpus)} cores were busy (${top}${elsewhere}), so the time goes to waiting (PostgreSQL's commits and locks, a connection pool, the user check over gRPC); ${scaled}`;
}

/** The orders partitions one notification-service instance says it holds; none when it does not answer. */
async function assigned(system: RunningSystem, instance: RunningService): Promise<number[]> {
  const response = await fetch(`${instance.http}/consumer/lag`, {
    headers: await asOperator(system),
    signal: AbortSignal.timeout(2_000),
  }).catch(() => undefined);
  if (response === undefined) return [];
  const body = (await response.json().catch(() => ({}))) as {
    assigned?: Record<string, number[]>;
  };
  return body.assigned?.[TOPICS.orders] ?? [];
}

/** Waits until these instances hold every orders partition between them, each at least one. */
async function spreadOver(
  system: RunningSystem,
  instances: readonly RunningService[],
): Promise<void> {
  let last: number[][] = [];
  await pollUntil(
    async () => {
      last = await Promise.all(instances.map((one) => assigned(system, one)));
      const held = new Set(last.flat());
      return held.size === TOPIC_PARTITIONS.orders && last.every((p) => p.length > 0)
        ? true
        : undefined;
    },
    {
      timeoutMs: 90_000,
      intervalMs: 250,
      onTimeout: () =>
        new Error(
          `the orders partitions did not settle on ${String(instances.length)} notification-service instance(s): ${JSON.stringify(last)}`,
        ),
    },
  );
}

/**
 * Runs `count` (1 or 2) instances of each scaled service: the second is
 * added the first time, then started and stopped (SIGTERM) as the sides
 * take turns. Resolves once notification-service's partitions are spread
 * over the instances that run.
 */
function instanceControl(system: RunningSystem, log: (line: string) => void) {
  const initially = Object.fromEntries(
    SCALED.map((name) => {
      const n = system.instances[name].length;
      if (n > 2)
        throw new Error(
          `the scale case runs one and two instances of ${name}, but the system runs ${String(n)}`,
        );
      return [name, n === 2];
    }),
  ) as Record<(typeof SCALED)[number], boolean>;
  const running = { ...initially };
  /** Resolves true when it started or stopped an instance. */
  const set = async (count: 1 | 2): Promise<boolean> => {
    let changed = false;
    for (const name of SCALED) {
      const want = count === 2;
      if (running[name] === want) continue;
      log(`  ${want ? 'starting' : 'stopping'} ${name}#2`);
      if (!want) await system.stopService(name, 'SIGTERM', 2);
      else {
        // As the first instance runs now (the Kafka case may have restarted it).
        const client = system.services[name].env['KAFKA_CLIENT'];
        const env: Record<string, string> = client === undefined ? {} : { KAFKA_CLIENT: client };
        if (system.instances[name].length < 2) await system.addInstance(name, env);
        else await system.startService(name, env, 2);
      }
      running[name] = want;
      changed = true;
    }
    await spreadOver(system, system.instances['notification-service'].slice(0, count));
    return changed;
  };
  return { set, restore: () => set(initially['order-service'] ? 2 : 1) };
}

/**
 * Scale-out: POST /orders at `concurrency` connections from one autocannon
 * process, against one order-service (with one notification-service) and
 * against two of each, the connections split evenly over the order-service
 * instances' URLs. Each trial has a user of its own, so its orders and
 * notifications are counted exactly: the order.created events in
 * order-service's table and the confirmations in notification-service's,
 * read with each service's own role once the load has stopped. A trial's
 * errors are its HTTP errors plus its orders without exactly one
 * notification.
 */
export async function scaleCase(
  context: CaseContext,
  cpus: number,
): Promise<{ comparison: Comparison; scale: ScaleReport }> {
  const { system, log } = context;
  const control = instanceControl(system, log);
  const runs: ScaleRun[] = [];

  const side =
    (count: 1 | 2): Trial =>
    async (durationMs) => {
      const changed = await control.set(count);
      const userId = await benchUser(system);
      const urls = system.instances['order-service']
        .slice(0, count)
        .map((one) => `${one.http}/orders`);
      // The trial's user places its orders with its own token.
      const headers = await asUser(system, userId);
      const load = (ms: number) =>
        startLoad({
          kind: 'http',
          headers,
          name: `POST /orders, ${String(count)} order-service + ${String(count)} notification-service`,
          url: urls,
          method: 'POST',
          body: ORDER_BODY(userId),
          concurrency: context.concurrency,
          durationMs: ms,
        });
      // A process that just started is cold (its JIT, its pools): warm it
      // up before every trial it starts, not only the side's first. Its
      // orders are this user's too and are counted with the trial's.
      if (changed && context.warmupMs > 0) await (await load(context.warmupMs)).release();
      let release = () => Promise.resolve();
      const ticksBefore = await machineTicks();
      let ticksAfter: Awaited<ReturnType<typeof machineTicks>>;
      let measurement: Measurement;
      try {
        measurement = await measured(context, async () => {
          const finished = await load(durationMs);
          release = finished.release;
          return finished.measurement;
        });
        ticksAfter = await machineTicks();
      } finally {
        await release();
      }
      const machineCores = busyCores(ticksBefore, ticksAfter, cpus);
      const ended = performance.now();
      let completion = completionOf(new Map(), new Map());
      // Re-read both tables each time: a request cut off at the deadline may still store its order.
      await pollUntil(
        async () => {
          const orders = await createdOrders(system, [userId]);
          completion = completionOf(orders, await confirmations(system, [userId]));
          return completion.missing === 0 ? true : undefined;
        },
        { timeoutMs: SETTLE_MS, intervalMs: 250 },
      ).catch(() => undefined);
      const drainMs = Math.round(performance.now() - ended);
      runs.push({
        instances: count,
        // interleave warms each side up once, before its first trial.
        warmup: context.warmupMs > 0 && !runs.some((run) => run.instances === count),
        ...completion,
        drainMs,
        ...(machineCores === undefined ? {} : { machineCores }),
      });
      if (completion.missing + completion.doubled > 0)
        log(
          `  ${String(count)} instance(s): ${String(completion.missing)} order(s) without a notification, ${String(completion.doubled)} with more than one`,
        );
      return {
        ...measurement,
        errors: measurement.errors + completion.missing + completion.doubled,
      };
    };

  let comparison: Comparison;
  try {
    const rounds = await interleave({ one: side(1), two: side(2) }, context);
    comparison = compare(
      {
        style: 'Scale-out',
        question:
          'POST /orders on two instances each of order-service and notification-service vs one of each',
        ratioOf: 'throughput',
      },
      rounds,
      { subject: 'two', baseline: 'one' },
    );
  } finally {
    await control.restore();
  }
  const one = scaleSide(1, runs);
  const two = scaleSide(2, runs);
  return {
    comparison,
    scale: {
      cpus,
      one,
      two,
      limit: whatLimits({
        ...(comparison.subject.median.cpu === undefined
          ? {}
          : { cpu: comparison.subject.median.cpu }),
        ...(Number.isFinite(two.machineCores.median)
          ? { machineCores: two.machineCores.median }
          : {}),
        cpus,
        ratio: comparison.ratio,
      }),
    },
  };
}
