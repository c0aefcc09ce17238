import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TOPIC_PARTITIONS, TOPICS } from '@comms/contracts';
import { startSystem } from '@comms/local-system';
import type { RunningService, RunningSystem } from '@comms/local-system';
import {
  accepted,
  acceptedAtLeast,
  asUser,
  createCounting,
  handledEvent,
  query,
  startOrderLoad,
  tally,
  tapTopics,
  until,
  userTokens,
  usersFor,
} from './harness.js';
import type { Attempt, HandledEvent, OrderLoad, TopicTap } from './harness.js';
import { recordRow, writeSuiteTable } from './report.js';
import type { Claim, ReportRow } from './report.js';
import { PROFILE } from './config.js';

/**
 * Several instances of each service working together, under the same
 * steady order load and counted the same way as the fault suite: two
 * user-service, two order-service (two outbox relays on one table) and two
 * notification-service instances (one consumer group), on a private
 * PostgreSQL and Kafka. Each scenario changes who is running and counts
 * what a user would: answers, stored orders, confirmations, publishes.
 */

let system: RunningSystem;
let tap: TopicTap;
const rows: ReportRow[] = [];
const serviceLog: string[] = [];
let failedTests = 0;
/** notification-service's handled events, with the instance that handled each. */
const handled: HandledEvent[] = [];
/** order-service's breaker changes ('user validation circuit open'), by line. */
const breakerLines: string[] = [];

afterEach(({ task }) => {
  if (task.result?.state === 'fail') failedTests += 1;
});

beforeAll(async () => {
  system = await startSystem({
    ports: 'random',
    // Its own servers: the topics and the consumer group are the real names.
    infraEnv: { COMMS_INFRA: 'native' },
    // Identity on: orders carry their users' tokens, the lag is read as the operator.
    auth: true,
    replicas: { 'user-service': 2, 'order-service': 2, 'notification-service': 2 },
    // As in the fault suite: a busy two-core machine can stall a call past 300 ms.
    env: { RATE_LIMIT_PER_MINUTE: '0', USER_CALL_TIMEOUT_MS: '2000' },
    onLine: (service, line, instance) => {
      serviceLog.push(`${service}#${String(instance)} ${line}`);
      if (service === 'order-service' && line.includes('circuit')) breakerLines.push(line);
      if (service !== 'notification-service') return;
      const event = handledEvent(line, instance);
      if (event !== undefined) handled.push(event);
    },
  });
  tap = await tapTopics(system.infra.kafkaBrokers);
}, 300_000);

afterAll(async () => {
  await tap?.close().catch(() => undefined);
  await system?.stop();
  await writeSuiteTable('scaleout', rows, { profile: PROFILE.name });
  if (failedTests > 0 || rows.some((row) => !row.passed)) {
    const file = join(tmpdir(), `comms-scaleout-${String(Date.now())}.log`);
    await writeFile(file, serviceLog.join('\n'));
    console.log(`service logs of the failed run: ${file}`);
  }
});

function judge(row: Omit<ReportRow, 'passed' | 'expected'>, claims: readonly Claim[]) {
  expect(recordRow(rows, row, claims), `${row.scenario}: ${row.counted}`).toEqual([]);
}

const settle = (users: readonly string[], attempts: readonly Attempt[]) =>
  createCounting({ system, tap, handled }).settle(users, attempts);
/** The load goes to every order-service instance in turn. */
const orderUrls = () => system.instances['order-service'].map((one) => one.http);
const notifiers = () => system.instances['notification-service'];
const now = (load: OrderLoad) => load.elapsed();
const ms = (value: number) => `${(value / 1000).toFixed(1)} s`;
const PARTITIONS = TOPIC_PARTITIONS.orders;

/** The orders partitions an instance says it holds; none when it does not answer. */
async function assigned(instance: RunningService): Promise<number[]> {
  const response = await fetch(`${instance.http}/consumer/lag`, {
    headers: await asUser(system, 'operator', 'notification-service'),
    signal: AbortSignal.timeout(2_000),
  }).catch(() => undefined);
  if (response === undefined) return [];
  const body = (await response.json().catch(() => ({}))) as {
    assigned?: Record<string, number[]>;
  };
  return [...(body.assigned?.[TOPICS.orders] ?? [])].sort((a, b) => a - b);
}

/**
 * Waits until the instances hold every partition between them, each at
 * least one (given one instance: it holds them all); resolves with each
 * instance's partitions.
 */
async function waitForAssignment(instances: readonly RunningService[]): Promise<number[][]> {
  let last: number[][] = [];
  return until(
    async () => {
      last = await Promise.all(instances.map(assigned));
      const held = last.flat().sort((a, b) => a - b);
      const all = held.length === PARTITIONS && new Set(held).size === PARTITIONS;
      return all && last.every((p) => p.length > 0) ? last : undefined;
    },
    90_000,
    () =>
      `the orders partitions were not spread over ${String(instances.length)} instance(s): ${JSON.stringify(last)}`,
    500,
  );
}

/**
 * order-service does not depend on notification-service, so while its
 * instances come and go orders are refused only when a dependency of
 * order-service is slowed: on a loaded two-core machine a process starting
 * beside the others can stall PostgreSQL or user-service past their
 * deadlines, which is a 503 that names what was slow, as the fault suite's
 * Kafka scenario allows.
 */
const onlySlowed = (attempts: readonly Attempt[]) =>
  attempts.every(
    (a) =>
      a.outcome === 201 || (a.outcome === 503 && /database|user-service/i.test(a.detail ?? '')),
  );

/** `; refused: 4 × "the database is unavailable"`, or nothing when none was refused. */
function refusals(attempts: readonly Attempt[]): string {
  const why = new Map<string, number>();
  for (const a of attempts.filter((x) => x.outcome !== 201)) {
    const reason = `${String(a.outcome)} ${(a.detail ?? a.code ?? '').split(':')[0] ?? ''}`.trim();
    why.set(reason, (why.get(reason) ?? 0) + 1);
  }
  return why.size === 0
    ? ''
    : `; refused: ${[...why].map(([reason, n]) => `${String(n)} × "${reason}"`).join(', ')}`;
}

const spread = (partitions: readonly number[][]) =>
  partitions.map((p, i) => `#${String(i + 1)} [${p.join(',')}]`).join(', ');
const byInstance = (counts: Record<number, number>) =>
  Object.entries(counts)
    .map(([instance, n]) => `#${instance} ${String(n)}`)
    .join(', ') || 'none';

describe(`scale-out (${PROFILE.name} profile)`, { concurrent: false }, () => {
  const rate = PROFILE.ordersPerSecond;

  it('two notification-service instances, one SIGKILLed: its partitions move to the survivor, one confirmation per order', async () => {
    const before = await waitForAssignment(notifiers());
    const users = await usersFor(system, 'sokill');
    const load = startOrderLoad({
      url: orderUrls(),
      userIds: users,
      perSecond: rate,
      token: userTokens(system),
    });
    await acceptedAtLeast(load, rate * PROFILE.warmSeconds, 0, 'warm-up');
    const [survivor, victim] = notifiers();
    if (survivor === undefined || victim === undefined) throw new Error('two instances expected');
    const handledBeforeKill = new Set(handled.map((h) => h.instance));
    await system.stopService('notification-service', 'SIGKILL', 2);
    const down = now(load);
    const after = await waitForAssignment([survivor]);
    const moved = now(load);
    await acceptedAtLeast(load, rate * PROFILE.afterSeconds, moved, 'after the move');
    const attempts = await load.stop();
    const counts = await settle(users, attempts);
    judge(
      {
        scenario: 'two notification-service instances, one SIGKILLed',
        injected: `SIGKILL to instance 2 during ${String(rate)} orders/s`,
        counted: `partitions before ${spread(before)}, after ${spread(after)} (moved in ${ms(moved - down)}); answers ${tally(attempts)}${refusals(attempts)}; handled by ${byInstance(counts.handledBy)}; confirmations ${String(counts.confirmations)}/${String(counts.accepted)}; redelivered and skipped ${String(counts.redelivered)}; dead-lettered ${String(counts.deadLettered)}${counts.stuck}`,
      },
      [
        { what: 'both instances hold partitions', ok: before.every((p) => p.length > 0) },
        {
          what: 'both handled events before the kill',
          ok: handledBeforeKill.has(1) && handledBeforeKill.has(2),
        },
        { what: 'the survivor holds every partition', ok: after[0]?.length === PARTITIONS },
        {
          what: 'no order refused but for a slowed dependency (201, or 503 naming it)',
          ok: onlySlowed(attempts),
        },
        { what: 'one confirmation per order', ok: counts.notExactlyOnce === 0 },
        { what: 'nothing dead-lettered', ok: counts.deadLettered === 0 },
      ],
    );
    await system.startService('notification-service', {}, 2);
  });

  it('a third notification-service instance joins under load: the rebalance loses and doubles nothing', async () => {
    const before = await waitForAssignment(notifiers());
    const users = await usersFor(system, 'sojoin');
    const load = startOrderLoad({
      url: orderUrls(),
      userIds: users,
      perSecond: rate,
      token: userTokens(system),
    });
    await acceptedAtLeast(load, rate * PROFILE.warmSeconds, 0, 'warm-up');
    const joining = now(load);
    const third = await system.addInstance('notification-service');
    const after = await waitForAssignment(notifiers());
    const joined = now(load);
    await acceptedAtLeast(load, rate * PROFILE.afterSeconds, joined, 'after the join');
    const attempts = await load.stop();
    const counts = await settle(users, attempts);
    judge(
      {
        scenario: 'a third notification-service instance joins',
        injected: `instance ${String(third.instance)} started during ${String(rate)} orders/s`,
        counted: `partitions before ${spread(before)}, after ${spread(after)} (rebalanced in ${ms(joined - joining)}); answers ${tally(attempts)}${refusals(attempts)}; handled by ${byInstance(counts.handledBy)}; confirmations ${String(counts.confirmations)}/${String(counts.accepted)}; redelivered and skipped ${String(counts.redelivered)}; dead-lettered ${String(counts.deadLettered)}${counts.stuck}`,
      },
      [
        {
          what: `each of the three holds one of the ${String(PARTITIONS)} partitions`,
          ok: after.length === 3 && after.every((p) => p.length === 1),
        },
        { what: 'the newcomer handled events', ok: (counts.handledBy[third.instance] ?? 0) > 0 },
        {
          what: 'no order refused but for a slowed dependency (201, or 503 naming it)',
          ok: onlySlowed(attempts),
        },
        { what: 'one confirmation per order', ok: counts.notExactlyOnce === 0 },
        { what: 'nothing dead-lettered', ok: counts.deadLettered === 0 },
      ],
    );
    // Back to two: the machine is small.
    await system.stopService('notification-service', 'SIGTERM', third.instance);
  });

  it('two order-service instances, both relays running: no event published twice, none skipped', async () => {
    const users = await usersFor(system, 'sorelay');
    const load = startOrderLoad({
      url: orderUrls(),
      userIds: users,
      perSecond: rate,
      token: userTokens(system),
    });
    await acceptedAtLeast(
      load,
      rate * (PROFILE.warmSeconds + PROFILE.outageSeconds + PROFILE.afterSeconds),
      0,
      'load through both instances',
    );
    const attempts = await load.stop();
    const counts = await settle(users, attempts);
    judge(
      {
        scenario: 'two order-service instances, two relays',
        injected: `${String(rate)} orders/s sent to the two instances in turn`,
        counted: `answers ${tally(attempts)}${refusals(attempts)}; stored ${String(counts.accepted - counts.lostOrders)}/${String(counts.accepted)} (+${String(counts.unacknowledged)} unacknowledged); duplicate publishes ${String(counts.duplicatePublishes)}; never published ${String(counts.unpublished)}; confirmations ${String(counts.confirmations)}/${String(counts.accepted)}${counts.stuck}`,
      },
      [
        {
          what: 'no order refused but for a slowed dependency (201, or 503 naming it)',
          ok: onlySlowed(attempts),
        },
        { what: 'every accepted order stored', ok: counts.lostOrders === 0 },
        { what: 'no event published twice', ok: counts.duplicatePublishes === 0 },
        { what: 'none skipped', ok: counts.unpublished === 0 },
        { what: 'one confirmation per order', ok: counts.notExactlyOnce === 0 },
      ],
    );
  });

  it('the same order paid through both order-service instances at once: one 200, one 409, one order.paid', async () => {
    const [one, two] = orderUrls();
    if (one === undefined || two === undefined) throw new Error('two instances expected');
    const users = await usersFor(system, 'sopay');
    const orders = rate * PROFILE.warmSeconds;
    const load = startOrderLoad({
      url: [one, two],
      userIds: users,
      perSecond: rate,
      token: userTokens(system),
    });
    await acceptedAtLeast(load, orders, 0, 'orders to pay');
    const created = (await load.stop()).filter((a) => a.outcome === 201);
    // Each order paid by its own user, with the token the load used.
    const pay = (url: string, orderId: string, as: { authorization?: string }) =>
      fetch(`${url}/orders/${orderId}/pay`, {
        method: 'POST',
        headers: { 'if-match': '"1"', ...as },
      })
        .then((r) => r.status)
        .catch(() => 0);
    const outcomes = await Promise.all(
      created.map(async (a) => {
        const id = a.orderId ?? '';
        const as = await asUser(system, a.userId);
        return (await Promise.all([pay(one, id, as), pay(two, id, as)])).sort((x, y) => x - y);
      }),
    );
    const ids = created.map((a) => a.orderId ?? '');
    const paid = await query<{ stream_id: string; event_id: string }>(
      system.databases['order-service'] ?? '',
      `SELECT stream_id::text, event_id::text FROM events
        WHERE type = 'order.paid.v1' AND stream_id = ANY($1::uuid[])`,
      [ids],
    );
    const perOrder = new Map<string, number>();
    for (const row of paid) perOrder.set(row.stream_id, (perOrder.get(row.stream_id) ?? 0) + 1);
    await until(
      () =>
        Promise.resolve(paid.every((row) => tap.published.has(row.event_id)) ? true : undefined),
      30_000,
      () => 'the tap did not see every order.paid',
    ).catch(() => undefined);
    const onTopic = paid.map((row) => tap.published.get(row.event_id) ?? 0);
    const split = outcomes.filter((o) => o[0] === 200 && o[1] === 409).length;
    const tallied = new Map<string, number>();
    for (const o of outcomes) tallied.set(o.join('+'), (tallied.get(o.join('+')) ?? 0) + 1);
    judge(
      {
        scenario: 'one order paid through both order-service instances at once',
        injected: `${String(created.length)} orders, each paid through both instances at the same moment with If-Match "1"`,
        counted: `answer pairs ${[...tallied].map(([pair, n]) => `${pair}×${String(n)}`).join(', ')}; order.paid in the streams ${String(paid.length)} (orders with more than one ${String([...perOrder.values()].filter((n) => n > 1).length)}); on the topic once ${String(onTopic.filter((n) => n === 1).length)}/${String(paid.length)}`,
      },
      [
        { what: 'one 200 and one 409 per order', ok: split === created.length },
        {
          what: 'each stream holds one order.paid',
          ok: ids.every((id) => perOrder.get(id) === 1) && paid.length === ids.length,
        },
        { what: 'each order.paid on the topic once', ok: onTopic.every((n) => n === 1) },
      ],
    );
  });

  it('two user-service instances, one SIGKILLed: orders keep being accepted through the other, no breaker opens', async () => {
    const users = await usersFor(system, 'sousers');
    const breakerBefore = breakerLines.length;
    const load = startOrderLoad({
      url: orderUrls(),
      userIds: users,
      perSecond: rate,
      token: userTokens(system),
    });
    await acceptedAtLeast(load, rate * PROFILE.warmSeconds, 0, 'warm-up');
    await system.stopService('user-service', 'SIGKILL', 1);
    const down = now(load);
    await until(
      () =>
        Promise.resolve(
          load.attempts.filter((a) => a.at >= down).length >=
            rate * (PROFILE.outageSeconds + PROFILE.afterSeconds)
            ? true
            : undefined,
        ),
      90_000,
      () => 'too few answers while user-service instance 1 was down',
    );
    const attempts = await load.stop();
    const counts = await settle(users, attempts);
    const opened = breakerLines.slice(breakerBefore).filter((line) => line.includes('open'));
    const during = attempts.filter((a) => a.at >= down);
    judge(
      {
        scenario: 'two user-service instances, one SIGKILLed',
        injected: `SIGKILL to user-service instance 1 during ${String(rate)} orders/s`,
        counted: `answers ${tally(attempts)}${refusals(attempts)} (${String(accepted(during).length)}/${String(during.length)} accepted after the kill); breaker changes ${String(opened.length)}; stored ${String(counts.accepted - counts.lostOrders)}/${String(counts.accepted)} (+${String(counts.unacknowledged)} never acknowledged); confirmations ${String(counts.confirmations)}/${String(counts.accepted)}${counts.stuck}`,
      },
      [
        {
          what: 'every order accepted (a refusal may only name the database, slowed on a loaded machine)',
          ok: attempts.every(
            (a) => a.outcome === 201 || (a.outcome === 503 && /database/i.test(a.detail ?? '')),
          ),
        },
        { what: 'no breaker opens', ok: opened.length === 0 },
        {
          what: 'no half-created order',
          ok: counts.unacknowledged === 0 && counts.lostOrders === 0,
        },
        { what: 'one confirmation per order', ok: counts.notExactlyOnce === 0 },
      ],
    );
    await system.startService('user-service', {}, 1);
  });
});
