import { generateKeyPairSync, sign } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bearer } from '@comms/auth';
import { TOPICS } from '@comms/contracts';
import { createKafka } from '@comms/kafka';
import type { ServiceName } from '@comms/endpoints';
import type { ServerControl } from '@comms/infra';
import { startSystem } from '@comms/local-system';
import type { RunningSystem } from '@comms/local-system';
import {
  accepted,
  acceptedAtLeast,
  asUser,
  createCounting,
  handledEvent,
  latency,
  query,
  sampleReadiness,
  startOrderLoad,
  registerUsers,
  tally,
  tapTopics,
  until,
  userTokens,
  usersFor as registerReplicatedUsers,
} from './harness.js';
import type { Attempt, HandledEvent, OrderLoad, TopicTap } from './harness.js';
import { recordRow, writeSuiteTable } from './report.js';
import type { Claim, ReportRow } from './report.js';
import { PROFILE } from './config.js';

/**
 * Fault injection with real processes: a private PostgreSQL and Kafka
 * (native, so they can be killed) and the three services, under a steady
 * order load. Each scenario injects one fault, lets the system recover by
 * itself, and counts what a user would: answers, stored orders,
 * notifications, redeliveries. The table lands in docs/reliability.md.
 */

/** The services' AUTH_KEYS_COOLDOWN_MS in this suite (the floor; 30 s by default). */
const KEYS_COOLDOWN_MS = 1_000;

let system: RunningSystem;
let tap: TopicTap;
const rows: ReportRow[] = [];
/** Every line the services printed, kept for a failed run. */
const serviceLog: string[] = [];
let failedTests = 0;

afterEach(({ task }) => {
  if (task.result?.state === 'fail') failedTests += 1;
});
/** notification-service's 'event handled' log lines: event id and outcome, in order. */
const handled: HandledEvent[] = [];

beforeAll(async () => {
  system = await startSystem({
    ports: 'random',
    // Identity on: every order carries its user's token (see userTokens).
    auth: true,
    // Its own native servers, whatever the environment offers: these get killed.
    infraEnv: { COMMS_INFRA: 'native' },
    // The broker and the services share a small machine: a JVM restarting
    // next to them can stall user-service past the default 300 ms deadline.
    // An unknown kid fetches the issuer's keys again 1 s after the last
    // fetch (30 s by default), so the issuer scenario sees a new key soon.
    env: {
      RATE_LIMIT_PER_MINUTE: '0',
      USER_CALL_TIMEOUT_MS: '2000',
      AUTH_KEYS_COOLDOWN_MS: String(KEYS_COOLDOWN_MS),
    },
    onLine: (service, line, instance) => {
      serviceLog.push(`${service} ${line}`);
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
  await writeSuiteTable('faults', rows, { profile: PROFILE.name });
  if (failedTests > 0 || rows.some((row) => !row.passed)) {
    // What the services said, for whoever reads the failure.
    const file = join(tmpdir(), `comms-faults-${String(Date.now())}.log`);
    await writeFile(file, serviceLog.join('\n'));
    console.log(`service logs of the failed run: ${file}`);
  }
});

function control(server: 'postgres' | 'kafka'): ServerControl {
  const found = system.infra[server].control;
  if (found === undefined)
    throw new Error(`${server} is not a native server; cannot inject faults`);
  return found;
}

const orderUrl = () => system.services['order-service'].http;

/** The steady order load of a scenario, each order with its user's token. */
const orderLoad = (users: readonly string[]) =>
  startOrderLoad({
    url: orderUrl(),
    userIds: users,
    perSecond: PROFILE.ordersPerSecond,
    token: userTokens(system),
  });

/** Records the scenario's row, then fails the test naming every claim that did not hold. */
function judge(row: Omit<ReportRow, 'passed' | 'expected'>, claims: readonly Claim[]) {
  expect(recordRow(rows, row, claims), `${row.scenario}: ${row.counted}`).toEqual([]);
}

/** New users, replicated to notification-service before the load starts. */
const usersFor = (label: string) => registerReplicatedUsers(system, label);

/** Now, on the load's clock (the time the last answer came back would lag behind). */
const now = (load: OrderLoad) => load.elapsed();

/**
 * How soon after a dependency is back orders must be accepted again, with
 * no action on the service itself: order-service reconnects to user-service
 * at least once a second and its pool reconnects on the next query.
 */
const RECOVERY_BOUND_MS = 10_000;

/**
 * The first order sent at or after `back` that was accepted, waiting up to
 * the bound and some more, so a slow recovery is measured, not just a
 * timeout; undefined when none came.
 */
async function firstAcceptedAfter(load: OrderLoad, back: number): Promise<Attempt | undefined> {
  const first = () =>
    accepted(load.attempts, back).reduce<Attempt | undefined>(
      (earliest, a) => (earliest === undefined || a.at < earliest.at ? a : earliest),
      undefined,
    );
  return until(
    () => Promise.resolve(first()),
    RECOVERY_BOUND_MS + 20_000,
    () => 'no order accepted after the dependency came back',
  )
    .then(() => first())
    .catch(() => undefined);
}

/**
 * The claims of a dependency's outage: refused while it was away (from
 * `down` until it was being started again, `returning`; while it starts it
 * may already answer), accepted again soon after it was `back`.
 */
function outageClaims(
  what: string,
  attempts: readonly Attempt[],
  times: { down: number; returning: number; back: number },
  recovered: Attempt | undefined,
): Claim[] {
  const { down, returning, back } = times;
  // Sent while the dependency was away: every one must be refused, not served.
  const outage = attempts.filter((a) => a.at >= down && a.at < returning);
  return [
    {
      what: `refused with 503 while ${what} was away (none accepted)`,
      ok: outage.length > 0 && outage.every((a) => a.outcome === 503),
    },
    {
      what: `recovers without intervention: first 201 within ${String(RECOVERY_BOUND_MS / 1000)} s of ${what}'s return`,
      ok: recovered !== undefined && recovered.at - back <= RECOVERY_BOUND_MS,
    },
  ];
}

/** An error's message with its cause's code, as a client would log it. */
function describeError(error: unknown): string {
  const cause = (error as { cause?: { code?: string } }).cause;
  return `${(error as Error).message}${cause?.code === undefined ? '' : ` (${cause.code})`}`;
}

/**
 * The claims of `token` under a kid the issuer never served, signed with a
 * key of its own: what a token under the issuer's next key looks like to a
 * service that has not fetched that key yet.
 */
function underUnknownKey(token: string): string {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const header = Buffer.from(
    JSON.stringify({ alg: 'RS256', typ: 'at+jwt', kid: 'not-fetched-yet' }),
  ).toString('base64url');
  const input = `${header}.${token.split('.')[1] ?? ''}`;
  return `${input}.${sign('sha256', Buffer.from(input), privateKey).toString('base64url')}`;
}

/** `2.1 s`, or `none within 30 s` when orders were never accepted again. */
const recoveredIn = (recovered: Attempt | undefined, back: number) =>
  recovered === undefined
    ? `none within ${String((RECOVERY_BOUND_MS + 20_000) / 1000)} s`
    : ms(recovered.at - back);

/** Waits until every accepted order has its confirmation; resolves with the final counts. */
const settle = (users: readonly string[], attempts: readonly Attempt[]) =>
  createCounting({ system, tap, handled }).settle(users, attempts);

const ms = (value: number) => `${(value / 1000).toFixed(1)} s`;

describe(`fault injection (${PROFILE.name} profile)`, { concurrent: false }, () => {
  const rate = PROFILE.ordersPerSecond;

  it('notification-service SIGTERM under load: commits cleanly, continues, nothing twice', async () => {
    const users = await usersFor('nsterm');
    const load = orderLoad(users);
    await acceptedAtLeast(load, rate * PROFILE.warmSeconds, 0, 'warm-up');
    const before = handled.length;
    const code = await system.stopService('notification-service', 'SIGTERM');
    const down = now(load);
    await acceptedAtLeast(load, rate * PROFILE.outageSeconds, down, 'while it was away');
    await system.startService('notification-service');
    const back = now(load);
    await acceptedAtLeast(load, rate * PROFILE.afterSeconds, back, 'after restart');
    const attempts = await load.stop();
    const counts = await settle(users, attempts);
    const redeliveredAfterRestart = handled
      .slice(before)
      .filter((h) => h.outcome === 'duplicate').length;
    judge(
      {
        scenario: 'notification-service SIGTERM, restarted',
        injected: `SIGTERM during ${String(rate)} orders/s; back after ${ms(back - down)}`,
        counted: `exit ${String(code)}; answers ${tally(attempts)}; confirmations ${String(counts.confirmations)}/${String(counts.accepted)}; redelivered after restart ${String(redeliveredAfterRestart)}; dead-lettered ${String(counts.deadLettered)}; caught up in ${ms(counts.drainMs)}${counts.stuck}`,
      },
      [
        { what: 'exits 0', ok: code === 0 },
        { what: 'every order accepted', ok: accepted(attempts).length === attempts.length },
        { what: 'one confirmation per order', ok: counts.notExactlyOnce === 0 },
        { what: 'nothing redelivered after restart', ok: redeliveredAfterRestart === 0 },
        { what: 'nothing dead-lettered', ok: counts.deadLettered === 0 },
      ],
    );
  });

  it('notification-service SIGKILL between storing and committing: no duplicate', async () => {
    const users = await usersFor('nskill');
    const load = orderLoad(users);
    await acceptedAtLeast(load, rate * PROFILE.warmSeconds, 0, 'warm-up');
    // Freeze the process while it works through a burst, until it holds an
    // event it stored but has not committed; then kill it.
    const pid = system.services['notification-service'].pid;
    const kafka = createKafka({ brokers: [system.infra.kafkaBrokers], clientId: 'reliability' });
    const admin = await kafka.admin();
    const database = system.databases['notification-service'] ?? '';
    const storedCount = async () =>
      Number(
        (
          await query<{ n: string }>(
            database,
            'SELECT count(*)::text AS n FROM processed_events',
            [],
          )
        )[0]?.n,
      );
    let uncommitted = 0;
    let tries = 0;
    try {
      // The window is short (a batch commits right after its two statements): try often.
      while (uncommitted === 0 && tries < 100) {
        tries += 1;
        const base = await storedCount();
        load.burst(30);
        await until(
          async () => ((await storedCount()) >= base + 3 ? true : undefined),
          60_000,
          () => 'notification-service did not handle the burst',
          10,
        );
        process.kill(pid, 'SIGSTOP');
        // A commit the process sent just before it stopped may land a moment
        // later (the consumer commits a whole fetched batch at once): read
        // the group's offsets until two reads agree.
        let committed = await admin.committedOffsets('notifications', TOPICS.orders);
        await until(
          async () => {
            const again = await admin.committedOffsets('notifications', TOPICS.orders);
            const settled = [...again].every(
              ([partition, offset]) => committed.get(partition) === offset,
            );
            committed = again;
            return settled ? true : undefined;
          },
          10_000,
          () => 'the stopped consumer’s committed offsets did not settle',
          100,
        );
        const stored = await query<{ event_id: string }>(
          database,
          `SELECT event_id::text FROM processed_events WHERE processed_at > now() - interval '60 seconds'`,
          [],
        );
        uncommitted = stored.filter(({ event_id }) => {
          const at = tap.positions.get(event_id);
          return at !== undefined && at.offset >= (committed.get(at.partition) ?? -1);
        }).length;
        if (uncommitted === 0) process.kill(pid, 'SIGCONT');
      }
    } finally {
      await admin.close();
    }
    const before = handled.length;
    const code = await system.stopService('notification-service', 'SIGKILL');
    const down = now(load);
    await system.startService('notification-service');
    const back = now(load);
    await acceptedAtLeast(load, rate * PROFILE.afterSeconds, back, 'after restart');
    const attempts = await load.stop();
    const counts = await settle(users, attempts);
    const redelivered = handled.slice(before).filter((h) => h.outcome === 'duplicate').length;
    judge(
      {
        scenario: 'notification-service SIGKILL between store and commit',
        injected: `bursts of 30 orders, SIGSTOP while one is handled until it held ${String(uncommitted)} stored, uncommitted event(s) (try ${String(tries)}), then SIGKILL; back after ${ms(back - down)}`,
        counted: `exit ${String(code)}; answers ${tally(attempts)}; redelivered and skipped ${String(redelivered)}; confirmations ${String(counts.confirmations)}/${String(counts.accepted)}; dead-lettered ${String(counts.deadLettered)}${counts.stuck}`,
      },
      [
        { what: 'killed holding a stored, uncommitted event', ok: uncommitted > 0 },
        { what: 'the redelivery is recognised', ok: redelivered >= uncommitted },
        { what: 'one confirmation per order', ok: counts.notExactlyOnce === 0 },
        { what: 'nothing dead-lettered', ok: counts.deadLettered === 0 },
      ],
    );
  });

  it('order-service SIGTERM under load: in-flight requests finish, the relay resumes, nothing published twice', async () => {
    const users = await usersFor('osterm');
    const load = orderLoad(users);
    await acceptedAtLeast(load, rate * PROFILE.warmSeconds, 0, 'warm-up');
    const code = await system.stopService('order-service', 'SIGTERM');
    const down = now(load);
    await system.startService('order-service');
    const back = now(load);
    await acceptedAtLeast(load, rate * PROFILE.afterSeconds, back, 'after restart');
    const attempts = await load.stop();
    const counts = await settle(users, attempts);
    // While closing it answers 503 to new requests; once closed, connections are refused.
    const broken = attempts.filter(
      (a) => a.outcome !== 201 && a.outcome !== 503 && a.outcome !== 'refused',
    );
    judge(
      {
        scenario: 'order-service SIGTERM, restarted',
        injected: `SIGTERM during ${String(rate)} orders/s; back after ${ms(back - down)}`,
        counted: `exit ${String(code)}; answers ${tally(attempts)}; stored ${String(counts.accepted - counts.lostOrders)}/${String(counts.accepted)} (+${String(counts.unacknowledged)} unacknowledged); confirmations ${String(counts.confirmations)}; duplicate publishes ${String(counts.duplicatePublishes)}${counts.stuck}`,
      },
      [
        { what: 'exits 0', ok: code === 0 },
        {
          what: 'no request cut off (only 201, 503 while closing, refused while down)',
          ok: broken.length === 0,
        },
        { what: 'every accepted order stored', ok: counts.lostOrders === 0 },
        { what: 'one confirmation per order', ok: counts.notExactlyOnce === 0 },
        { what: 'no event published twice', ok: counts.duplicatePublishes === 0 },
      ],
    );
  });

  it('user-service stopped under load: fast 503s, recovers by itself, no half-created order', async () => {
    const users = await usersFor('usdown');
    const load = orderLoad(users);
    await acceptedAtLeast(load, rate * PROFILE.warmSeconds, 0, 'warm-up');
    const code = await system.stopService('user-service', 'SIGTERM');
    const down = now(load);
    await until(
      () =>
        Promise.resolve(
          load.attempts.filter((a) => a.outcome === 503 && a.at >= down).length >=
            rate * PROFILE.outageSeconds
            ? true
            : undefined,
        ),
      60_000,
      () => 'order-service did not answer 503 while user-service was down',
    );
    const returning = now(load);
    await system.startService('user-service');
    const back = now(load);
    const recovered = await firstAcceptedAfter(load, back);
    if (recovered !== undefined)
      await acceptedAtLeast(load, rate * PROFILE.afterSeconds, back, 'after restart');
    const attempts = await load.stop();
    const counts = await settle(users, attempts);
    const refused = attempts.filter((a) => a.outcome === 503);
    const suspended = refused.filter((a) => a.code === 'UNAVAILABLE');
    const other = attempts.filter((a) => a.outcome !== 201 && a.outcome !== 503);
    const fast = latency(refused.map((a) => a.ms));
    judge(
      {
        scenario: 'user-service SIGTERM, restarted',
        injected: `SIGTERM during ${String(rate)} orders/s; back after ${ms(back - down)}`,
        counted: `exit ${String(code)}; answers ${tally(attempts)}; 503 latency p50 ${String(fast.p50)} ms, max ${String(fast.max)} ms; first 201 ${recoveredIn(recovered, back)} after restart; stored ${String(counts.accepted - counts.lostOrders)}/${String(counts.accepted)} (+${String(counts.unacknowledged)} never acknowledged); confirmations ${String(counts.confirmations)}${counts.stuck}`,
      },
      [
        { what: 'exits 0', ok: code === 0 },
        {
          what: 'only 201 or 503 (UNAVAILABLE)',
          ok: other.length === 0 && suspended.length === refused.length,
        },
        ...outageClaims('user-service', attempts, { down, returning, back }, recovered),
        {
          what: 'no half-created order',
          ok: counts.unacknowledged === 0 && counts.lostOrders === 0,
        },
        { what: 'one confirmation per order', ok: counts.notExactlyOnce === 0 },
      ],
    );
  });

  it('Kafka SIGKILL under load, then restarted: every accepted order notified exactly once', async () => {
    const users = await usersFor('kafkakill');
    const load = orderLoad(users);
    await acceptedAtLeast(load, rate * PROFILE.warmSeconds, 0, 'warm-up');
    await control('kafka').kill('SIGKILL');
    const down = now(load);
    // Orders are accepted with Kafka away: the outbox holds their events.
    await acceptedAtLeast(load, rate * PROFILE.outageSeconds, down, 'while Kafka was down');
    await control('kafka').restart();
    const back = now(load);
    await acceptedAtLeast(load, rate * PROFILE.afterSeconds, back, 'after restart');
    const attempts = await load.stop();
    const counts = await settle(users, attempts);
    judge(
      {
        scenario: 'Kafka SIGKILL, restarted',
        injected: `SIGKILL to the broker during ${String(rate)} orders/s; back after ${ms(back - down)}`,
        counted: `answers ${tally(attempts)}; stored ${String(counts.accepted - counts.lostOrders)}/${String(counts.accepted)}; confirmations ${String(counts.confirmations)}/${String(counts.accepted)}; duplicate publishes ${String(counts.duplicatePublishes)}; redelivered and skipped ${String(counts.redelivered)}; dead-lettered ${String(counts.deadLettered)}; caught up in ${ms(counts.drainMs)}${counts.stuck}`,
      },
      [
        {
          what: 'no order refused for want of Kafka (a refusal may only be user-service too slow)',
          ok: attempts.every(
            (a) => a.outcome === 201 || (a.outcome === 503 && /user-service/.test(a.detail ?? '')),
          ),
        },
        { what: 'every accepted order stored', ok: counts.lostOrders === 0 },
        { what: 'one confirmation per order', ok: counts.notExactlyOnce === 0 },
        { what: 'nothing dead-lettered', ok: counts.deadLettered === 0 },
      ],
    );
  });

  it('PostgreSQL restarted under load: not-ready while away, reconnects, loses no accepted order', async () => {
    const users = await usersFor('pgrestart');
    const names: ServiceName[] = ['user-service', 'order-service', 'notification-service'];
    const load = orderLoad(users);
    await acceptedAtLeast(load, rate * PROFILE.warmSeconds, 0, 'warm-up');
    const readiness = sampleReadiness(system, names);
    // SIGINT is PostgreSQL's fast shutdown: open transactions roll back, connections drop.
    await control('postgres').kill('SIGINT');
    const down = now(load);
    await until(
      () =>
        Promise.resolve(
          load.attempts.filter((a) => a.outcome !== 201 && a.at >= down).length >=
            rate * PROFILE.outageSeconds
            ? true
            : undefined,
        ),
      60_000,
      () => 'order-service kept accepting orders with its database down',
    );
    const returning = now(load);
    await control('postgres').restart();
    const back = now(load);
    const recovered = await firstAcceptedAfter(load, back);
    if (recovered !== undefined)
      await acceptedAtLeast(load, rate * PROFILE.afterSeconds, back, 'after restart');
    const notReady = await readiness.stop();
    const attempts = await load.stop();
    const counts = await settle(users, attempts);
    const during = attempts.filter((a) => a.outcome !== 201);
    const clean = during.filter((a) => a.outcome === 503);
    judge(
      {
        scenario: 'PostgreSQL restarted (fast shutdown)',
        injected: `fast shutdown during ${String(rate)} orders/s; back after ${ms(back - down)}`,
        counted: `answers ${tally(attempts)}; not ready: ${[...notReady].join(', ') || 'none'}; first 201 ${recoveredIn(recovered, back)} after restart; stored ${String(counts.accepted - counts.lostOrders)}/${String(counts.accepted)} (+${String(counts.unacknowledged)} never acknowledged); confirmations ${String(counts.confirmations)}/${String(counts.accepted)}; dead-lettered ${String(counts.deadLettered)}${counts.stuck}`,
      },
      [
        { what: 'refusals are 503, never 500', ok: clean.length === during.length },
        { what: 'every service reports not-ready', ok: notReady.size === names.length },
        ...outageClaims('PostgreSQL', attempts, { down, returning, back }, recovered),
        { what: 'every accepted order stored', ok: counts.lostOrders === 0 },
        { what: 'one confirmation per order', ok: counts.notExactlyOnce === 0 },
        { what: 'nothing dead-lettered', ok: counts.deadLettered === 0 },
      ],
    );
  });

  it('token issuer stopped while the services run: held tokens keep working, new ones fail clearly, a new key works again', async () => {
    const users = await usersFor('issuer');
    // Registered now, signed in only while the issuer is away and after it is back.
    const [newcomer = ''] = await registerUsers(system, 'issuer-new', 1);
    const names: ServiceName[] = ['user-service', 'order-service', 'notification-service'];
    const load = orderLoad(users);
    await acceptedAtLeast(load, rate * PROFILE.warmSeconds, 0, 'warm-up');
    const [held = ''] = users;
    const heldOrder = accepted(load.attempts).find((a) => a.userId === held)?.orderId ?? '';
    // The token the load holds for this user, already verified by order-service.
    const heldToken = await system.tokens.user(held);
    const readiness = sampleReadiness(system, names);
    await system.issuer.kill('SIGTERM');
    const down = now(load);
    // A client with no token for this user yet: its sign-in cannot reach the issuer.
    const signIn = await system.tokens.user(newcomer).then(
      () => undefined,
      (error: unknown) => describeError(error),
    );
    // A token under a key the services have not fetched (as the issuer's next
    // key would be): once the cooldown since their last fetch is over they
    // must fetch the keys, and cannot.
    let rotated = { status: 0, code: '', retryAfter: '' };
    await until(
      async () => {
        const response = await fetch(`${orderUrl()}/orders`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...bearer(underUnknownKey(heldToken)) },
          body: JSON.stringify({
            userId: held,
            items: [{ productId: 'kid', quantity: 1, price: '1.00' }],
          }),
          signal: AbortSignal.timeout(10_000),
        });
        const body = (await response.json().catch(() => ({}))) as { code?: string };
        rotated = {
          status: response.status,
          code: body.code ?? '',
          retryAfter: response.headers.get('retry-after') ?? '',
        };
        // 401 is the answer within the cooldown: the keys were fetched moments ago.
        return response.status === 401 ? undefined : true;
      },
      KEYS_COOLDOWN_MS + 10_000,
      () => 'a token under an unknown key was still refused with 401',
    ).catch(() => undefined);
    await acceptedAtLeast(load, rate * PROFILE.outageSeconds, down, 'while the issuer was away');
    // After that failed key fetch the keys already held still verify.
    const read = await fetch(`${orderUrl()}/orders/${heldOrder}`, {
      headers: bearer(heldToken),
      signal: AbortSignal.timeout(10_000),
    })
      .then((r) => r.status)
      .catch(() => 0);
    const readyAway = await Promise.all(
      names.map((name) =>
        fetch(`${system.services[name].http}/readyz`, { signal: AbortSignal.timeout(2_000) })
          .then((r) => r.status)
          .catch(() => 0),
      ),
    );
    const notReady = await readiness.stop();
    // The load's tokens are under the old key; it stops before the new key exists.
    const attempts = await load.stop();
    const away = now(load) - down;
    await system.issuer.restart();
    const restarted = performance.now();
    // The old key is gone with the old process: a client signs in again.
    system.tokens.clear();
    let before = 'none';
    const recovered = await until(
      async () => {
        const response = await fetch(`${orderUrl()}/orders`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(await asUser(system, newcomer)) },
          body: JSON.stringify({
            userId: newcomer,
            items: [{ productId: 'new-key', quantity: 1, price: '1.00' }],
          }),
          signal: AbortSignal.timeout(10_000),
        });
        if (response.status === 201) return performance.now() - restarted;
        before = String(response.status);
        return undefined;
      },
      KEYS_COOLDOWN_MS + RECOVERY_BOUND_MS,
      () => 'no order placed with a token under the new key',
    ).catch(() => undefined);
    const registered = await registerUsers(system, 'issuer-after', 1).then(
      () => true,
      () => false,
    );
    const counts = await settle(users, attempts);
    const died = await Promise.race([
      system.failed.then((error) => error.message),
      Promise.resolve(undefined),
    ]);
    const refused = attempts.filter(
      (a) => !(a.outcome === 201 || (a.outcome === 503 && /user-service/.test(a.detail ?? ''))),
    );
    judge(
      {
        scenario: 'token issuer stopped, restarted with a new key',
        injected: `SIGTERM to the issuer during ${String(rate)} orders/s, every user holding a verified token; back after ${ms(away)} with a new signing key (new kid); AUTH_KEYS_COOLDOWN_MS ${String(KEYS_COOLDOWN_MS)}`,
        counted: `answers ${tally(attempts)}; a new sign-in while away: ${signIn ?? 'succeeded'}; a token under an unknown key: ${String(rotated.status)} ${rotated.code}${rotated.retryAfter === '' ? '' : `, Retry-After ${rotated.retryAfter}`}; a held token reads its order afterwards: ${String(read)}; /readyz while away ${readyAway.join(', ')}, reported not ready: ${[...notReady].join(', ') || 'none'}; first order with a new token ${recovered === undefined ? 'none' : ms(recovered)} after the issuer's return (${before} before); the back office registers again: ${String(registered)}; stored ${String(counts.accepted - counts.lostOrders)}/${String(counts.accepted)}; confirmations ${String(counts.confirmations)}/${String(counts.accepted)}; services died: ${died ?? 'none'}${counts.stuck}`,
      },
      [
        {
          what: 'orders with tokens already verified accepted while the issuer was away (201, or 503 naming a slowed user-service)',
          ok: refused.length === 0 && accepted(attempts, down).length > 0,
        },
        {
          what: "a new sign-in fails clearly (the issuer's connection refused)",
          ok: signIn !== undefined && /ECONNREFUSED/.test(signIn),
        },
        {
          what: 'a token under a key not yet fetched: 503 UNAVAILABLE with Retry-After',
          ok: rotated.status === 503 && rotated.code === 'UNAVAILABLE' && rotated.retryAfter !== '',
        },
        { what: 'held tokens still verify after that', ok: read === 200 },
        {
          what: 'nothing crashes: every service answers /readyz 200',
          ok: readyAway.every((s) => s === 200) && notReady.size === 0 && died === undefined,
        },
        {
          what: `after its return a new sign-in's token is accepted within the keys cooldown + ${String(RECOVERY_BOUND_MS / 1000)} s`,
          ok: recovered !== undefined && recovered <= KEYS_COOLDOWN_MS + RECOVERY_BOUND_MS,
        },
        { what: "user-service accepts the back office's new token", ok: registered },
        { what: 'every accepted order stored', ok: counts.lostOrders === 0 },
        { what: 'one confirmation per order', ok: counts.notExactlyOnce === 0 },
      ],
    );
  });
});
