import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer from 'puppeteer-core';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer } from '@comms/auth';
import { createEvent, DLQ_HEADERS, TOPICS } from '@comms/contracts';
import { createKafka } from '@comms/kafka';
import { startSystem } from '@comms/local-system';
import { createPool } from '@comms/postgres';
import type { RunningSystem } from '@comms/local-system';
import { createLogger } from '@comms/service-kit';
import { waitFor } from '@comms/testing';
import { buildApp } from './app.js';
import { loadConfig } from './config.js';
import { createOrderGrpc } from './upstream.js';

/**
 * The console in a real browser (Debian's chromium, headless, driven by
 * puppeteer-core) against the real system: PostgreSQL, Kafka, the three
 * services and the console as separate processes, as npm start runs them,
 * with identity on: the services require tokens from the local issuer, and
 * the console signs its customers, the operator and itself in there.
 */

// Only a browser installed on the machine; nothing downloads one.
const CANDIDATES = [process.env['CHROMIUM_PATH'], '/usr/bin/chromium', '/usr/bin/chromium-browser'];
const chromium = CANDIDATES.find((path) => path !== undefined && path !== '' && existsSync(path));
if (chromium === undefined) {
  const message = `the console's browser suite is skipped: no chromium binary found (looked at ${CANDIDATES.filter(Boolean).join(', ')}); install Debian's chromium (apt-get install chromium) or set CHROMIUM_PATH`;
  // .ci/run installs chromium, so there a missing browser is a failure, not a skip.
  if (process.env['CI'] !== undefined && process.env['CI'] !== '') throw new Error(message);
  console.warn(message);
}

const SCREENSHOTS = fileURLToPath(new URL('../../../docs/console/', import.meta.url));
const axeSource = readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

let system: RunningSystem;
let browser: Browser;
let page: Page;
let url: string;
let spansDir: string;
const logs: string[] = [];
let firstTrace: string;
let grpcTrace: string;

describe.skipIf(chromium === undefined)('the console in headless Chromium', () => {
  beforeAll(async () => {
    spansDir = await mkdtemp(join(tmpdir(), 'comms-console-spans-'));
    system = await startSystem({
      ports: 'random',
      // Its own PostgreSQL and Kafka: on a shared broker, other systems' notification-services
      // join the same consumer group and may take this system's events.
      infraEnv: { COMMS_INFRA: 'native' },
      // The services require tokens; the console gets the issuer (AUTH_ISSUER_URL).
      auth: true,
      env: { TELEMETRY_SPANS_DIR: spansDir, RATE_LIMIT_PER_MINUTE: '0' },
      console: true,
      consoleFaults: true,
      onLine: (service, line) => logs.push(`${service} ${line}`),
      log: (line) => logs.push(`system ${line}`),
    });
    url = system.console?.http ?? '';
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    browser = await puppeteer.launch({
      executablePath: chromium,
      headless: true,
      // The container runs as root, where Chromium's sandbox cannot start.
      args: ['--no-sandbox', '--disable-dev-shm-usage'],
    });
    page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 900 });
    page.on('pageerror', (error) => logs.push(`page error ${String(error)}`));
    await mkdir(SCREENSHOTS, { recursive: true });
  });

  afterAll(async () => {
    await browser?.close();
    await system?.stop();
    if (spansDir !== undefined) await rm(spansDir, { recursive: true, force: true });
  });

  /** Each hop's state, by hop id, as the page shows it. */
  const hopStates = (): Promise<Record<string, string | undefined>> =>
    page.$$eval('#timeline-rows tr', (rows) =>
      Object.fromEntries(
        rows.map((row): [string, string | undefined] => [
          String((row as HTMLElement).dataset['hop']),
          (row as HTMLElement).dataset['state'],
        ]),
      ),
    );
  const text = (selector: string) => page.$eval(selector, (element) => element.textContent);
  /**
   * Waits until the timeline follows a new trace (not `previous`) and shows
   * every hop, the page's own SSE push included, as done; returns its trace id.
   */
  const everyHopDone = async (previous?: string) => {
    try {
      await page.waitForFunction(
        (before: string | undefined) => {
          const trace = document.getElementById('trace-id')?.textContent;
          const rows = [...document.querySelectorAll<HTMLElement>('#timeline-rows tr')];
          return (
            trace !== undefined &&
            trace !== before &&
            rows.length >= 6 &&
            rows.every((row) => row.dataset['state'] === 'done')
          );
        },
        { timeout: 30_000 },
        previous,
      );
    } catch (error) {
      const rows = await page.$eval('#timeline', (table) => (table as HTMLElement).innerText);
      throw new Error(`not every hop was done within 30 s:\n${rows}`, { cause: error });
    }
    return (await text('#trace-id')) ?? '';
  };

  it('places an order from the keyboard over REST and sees every hop complete and the notification arrive over SSE', async () => {
    await page.goto(url);
    await page.waitForFunction(
      () => document.getElementById('user-check-mode')?.textContent === 'grpc',
      { timeout: 10_000 },
    );
    await page.$eval('#customer-email', (input) => {
      (input as HTMLInputElement).value = `ada.${Date.now()}@example.com`;
    });
    // Keyboard only: from the first field, Tab reaches the button; Enter places the order.
    await page.focus('#customer-name');
    for (let tabs = 0; tabs < 12; tabs += 1) {
      if ((await page.evaluate(() => document.activeElement?.id)) === 'place') break;
      await page.keyboard.press('Tab');
    }
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('place');
    await page.keyboard.press('Enter');

    firstTrace = await everyHopDone();
    expect(await hopStates()).toEqual({
      request: 'done',
      'user-check': 'done',
      appended: 'done',
      published: 'done',
      consumed: 'done',
      stored: 'done',
      pushed: 'done',
    });
    const placed = await text('#place-result');
    expect(placed).toMatch(
      /^Order [0-9a-f-]{36} placed over REST for Ada Lovelace: 9\.00, version 1\.$/,
    );
    const orderId = placed?.split(' ')[1] ?? '';
    // The trace id on the page is the one the services' logs carry.
    expect(firstTrace).toMatch(/^[0-9a-f]{32}$/);
    expect(logs.some((line) => line.includes(`"trace_id":"${firstTrace}"`))).toBe(true);
    // The row details name what was observed: the gRPC user check and the order's first version.
    expect(await text('#timeline-rows tr[data-hop="user-check"]')).toContain('ValidateUser');
    expect(await text('#timeline-rows tr[data-hop="appended"]')).toContain(
      'order.created.v1, version 1',
    );
    // The notification arrived on the page's own stream.
    expect(await text('#feed')).toContain(`Order ${orderId.slice(0, 8)} confirmed`);
    // Kafka as the consumer sees it: the order's partition consumed, nothing left behind.
    await page.waitForFunction(
      () =>
        document.getElementById('kafka-status')?.textContent ===
          'Group notifications: joined, total lag 0.' &&
        document.querySelector('#lag-rows tr[data-topic="orders"]') !== null,
      { timeout: 15_000 },
    );
    await page.screenshot({ path: join(SCREENSHOTS, 'place-and-timeline.png'), fullPage: true });
  });

  it('places an order over gRPC and follows the same hops', async () => {
    await page.click('#via-grpc');
    await page.click('#place');
    await page.waitForFunction(
      () => document.getElementById('place-result')?.textContent?.includes('over GRPC'),
      { timeout: 10_000 },
    );
    grpcTrace = await everyHopDone(firstTrace);
    expect(await text('#timeline-rows tr[data-hop="request"]')).toContain(
      'order.v1.OrderService/CreateOrder',
    );
  });

  it("needs its tokens: order-service refuses the console's own call without one (401), and a console with no issuer shows the services' refusals as their problem documents", async () => {
    expect(system.auth).toBe(true);
    expect(await text('#identity')).toContain(`local token issuer ${system.issuer.url}`);
    // The gRPC order just placed went as its customer.
    const acting = /^Placing over GRPC: acting as user ([0-9a-f-]{36})\.$/.exec(
      (await text('#place-acting')) ?? '',
    );
    const userId = acting?.[1] ?? '';
    expect(userId).not.toBe('');

    // The console's call, straight to order-service: refused without a token, accepted with
    // the customer's. So the console's orders were accepted for the token it sent.
    const orderService = system.services['order-service'];
    const post = (headers: Record<string, string>) =>
      fetch(`${orderService.http}/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({
          userId,
          items: [{ productId: 'direct', quantity: 1, price: '1.00' }],
        }),
      });
    const refused = await post({});
    expect(refused.status).toBe(401);
    expect(refused.headers.get('content-type')).toContain('application/problem+json');
    expect(refused.headers.get('www-authenticate')).toMatch(/^Bearer /);
    expect((await post(bearer(await system.tokens.user(userId)))).status).toBe(201);

    // A console with no AUTH_ISSUER_URL, in this process, against the same services.
    const grpc = createOrderGrpc(orderService.grpc ?? '');
    const bare = await buildApp({
      config: loadConfig({
        ORDER_SERVICE_HTTP_URL: orderService.http,
        ORDER_SERVICE_GRPC_ADDR: orderService.grpc,
        USER_SERVICE_HTTP_URL: system.services['user-service'].http,
        NOTIFICATION_SERVICE_HTTP_URL: system.services['notification-service'].http,
      }),
      grpc,
      spans: undefined,
      logger: createLogger('console', 'silent'),
      readiness: {},
    });
    const other = await browser.newPage();
    const otherErrors: string[] = [];
    other.on('pageerror', (error) => otherErrors.push(String(error)));
    try {
      const bareUrl = await bare.listen({ host: '127.0.0.1', port: 0 });
      // Its API passes order-service's refusal on as it came, over REST and gRPC.
      for (const via of ['rest', 'grpc']) {
        const answer = await fetch(`${bareUrl}/api/orders`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            via,
            userId,
            items: [{ productId: 'bare', quantity: 1, price: '1.00' }],
          }),
        });
        expect(answer.status).toBe(401);
        expect(answer.headers.get('content-type')).toContain('application/problem+json');
        expect(answer.headers.get('x-acting-as')).toBeNull();
        const problem = (await answer.json()) as { status?: unknown; detail?: unknown };
        expect(problem.status).toBe(401);
        expect(typeof problem.detail).toBe('string');
      }
      // Its page: registering the customer is refused by user-service, shown with its detail.
      await other.goto(bareUrl);
      await other.waitForFunction(
        () => document.getElementById('identity')?.textContent?.startsWith('Tokens: none'),
        { timeout: 10_000 },
      );
      await other.click('#place');
      await other.waitForFunction(
        () =>
          /^registering Ada Lovelace was refused: 401\b.*: .+/.test(
            document.getElementById('place-result')?.textContent ?? '',
          ),
        { timeout: 10_000 },
      );
      expect(await other.$eval('#place-acting', (p) => p.textContent)).toBe('');
      // The Kafka panel's lag: notification-service's refusal, said as it came.
      await other.waitForFunction(
        () =>
          /^notification-service answered 401/.test(
            document.getElementById('kafka-status')?.textContent ?? '',
          ),
        { timeout: 10_000 },
      );
      expect(otherErrors).toEqual([]);
    } finally {
      await other.close();
      await bare.close();
      grpc.close();
    }

    // The issuer restarts with a new signing key. Once order-service has fetched it (a
    // token with the new key id makes it), the console's cached tokens are refused with 401:
    // it forgets them, signs in again and sends the order once more, so the page sees none.
    await system.issuer.kill('SIGTERM');
    await system.issuer.restart();
    system.tokens.clear();
    await waitFor(
      async () =>
        (await post(bearer(await system.tokens.user(userId)))).status === 201 ? true : undefined,
      { timeoutMs: 60_000, intervalMs: 500, message: 'order-service did not take the new key' },
    );
    const before = await text('#place-result');
    await page.click('#place');
    await page.waitForFunction(
      (previous: string | null) => {
        const now = document.getElementById('place-result')?.textContent ?? '';
        return now !== previous && !now.startsWith('Placing');
      },
      { timeout: 20_000 },
      before,
    );
    expect(await text('#place-result')).toMatch(/^Order [0-9a-f-]{36} placed over GRPC/);
    grpcTrace = await everyHopDone(grpcTrace);
  }, 180_000);

  it('pays with the version read, sees a stale version refused with 409, and the history', async () => {
    expect(
      await page.$eval('#expected-version', (input) => (input as HTMLInputElement).value),
    ).toBe('1');
    await page.click('#pay');
    await page.waitForFunction(
      () => document.getElementById('order-summary')?.textContent?.includes('PAID'),
      { timeout: 10_000 },
    );
    expect(await text('#command-result')).toContain('accepted with version 1');
    expect(await text('#order-summary')).toContain('Version read: 2.');
    // Paying is the owner's: the customer's token, not the operator's.
    expect(await text('#stream-acting')).toMatch(/^Pay: acting as user [0-9a-f-]{36}\.$/);
    // The payment's own hops, through to this page's stream.
    await everyHopDone(grpcTrace);
    expect(await text('#timeline-rows tr[data-hop="appended"]')).toContain(
      'order.paid.v1, version 2',
    );

    // A stale version: ship with version 1 although the order is at 2.
    await page.$eval('#expected-version', (input) => {
      (input as HTMLInputElement).value = '1';
    });
    await page.click('#ship');
    await page.waitForFunction(
      () => document.getElementById('command-result')?.textContent?.startsWith('Refused with 409'),
      { timeout: 10_000 },
    );
    expect(await text('#command-result')).toContain('is at version 2, not 1');
    // Shipping is the operator's: order-service let it through to the version check.
    expect(await text('#stream-acting')).toBe('Ship: acting as operator.');
    await page.waitForFunction(
      () =>
        document.querySelector<HTMLElement>('#timeline-rows tr[data-hop="appended"]')?.dataset[
          'state'
        ] === 'skipped',
      { timeout: 10_000 },
    );
    expect(await text('#order-summary')).toContain('PAID');

    const history = await page.$$eval('#history-rows tr', (rows) =>
      rows.map((row) => [...row.children].slice(0, 2).map((cell) => cell.textContent)),
    );
    expect(history).toEqual([
      ['1', 'order.created.v1'],
      ['2', 'order.paid.v1'],
    ]);
    await page.screenshot({ path: join(SCREENSHOTS, 'event-stream.png'), fullPage: true });
  });

  it('rebuilds the read model: no diff while it agrees with the events, the edited field after someone changes it in PostgreSQL', async () => {
    await page.click('#rebuild');
    await page.waitForFunction(
      () => document.getElementById('rebuild-result')?.textContent?.startsWith('No differences'),
      { timeout: 10_000 },
    );
    expect(await text('#rebuild-result')).toBe(
      'No differences: the read model agreed with the 2 events of the stream.',
    );
    expect(await text('#stream-acting')).toBe('Rebuild: acting as operator.');
    const orderId = /^Order ([0-9a-f-]{36}):/.exec((await text('#order-summary')) ?? '')?.[1];
    expect(orderId).toBeDefined();
    // The read model edited behind the events' back, as a bad migration or a hand fix would.
    const pool = createPool({ url: system.databases['order-service'] ?? '', max: 1 });
    try {
      await pool.query("UPDATE orders_view SET status = 'SHIPPED' WHERE order_id = $1", [orderId]);
    } finally {
      await pool.end();
    }
    await page.click('#rebuild');
    await page.waitForFunction(
      () => document.getElementById('rebuild-result')?.textContent?.includes('differed'),
      { timeout: 10_000 },
    );
    expect(await text('#rebuild-result')).toBe(
      '1 field differed from the events; the read model was rewritten from them.',
    );
    const diff = await page.$$eval('#rebuild-rows tr', (rows) =>
      rows.map((row) => [...row.children].map((cell) => cell.textContent)),
    );
    expect(diff).toEqual([['status', '"SHIPPED"', '"PAID"']]);
    await page.screenshot({ path: join(SCREENSHOTS, 'rebuild.png'), fullPage: true });
    // Repaired: the next rebuild finds nothing.
    await page.click('#rebuild');
    await page.waitForFunction(
      () => document.getElementById('rebuild-result')?.textContent?.startsWith('No differences'),
      { timeout: 10_000 },
    );
  });

  it('runs a short load over REST and gRPC from the keyboard and draws its points, with the figures in a table', async () => {
    await page.$eval('#load-rate', (input) => {
      (input as HTMLInputElement).value = '20';
    });
    await page.$eval('#load-duration', (input) => {
      (input as HTMLInputElement).value = '3';
    });
    await page.focus('#load-start');
    await page.keyboard.press('Enter');
    await page.waitForFunction(
      () => document.getElementById('load-status')?.textContent?.startsWith('Load started'),
      { timeout: 10_000 },
    );
    // Live: a point is drawn while the run still goes.
    await page.waitForFunction(
      () =>
        document.querySelectorAll('#load-throughput circle[data-style="rest"]').length > 0 &&
        document.getElementById('load-progress')?.textContent?.startsWith('Running'),
      { timeout: 10_000 },
    );
    await page.waitForFunction(
      () => document.getElementById('load-status')?.textContent?.startsWith('The load finished'),
      { timeout: 30_000 },
    );
    for (const style of ['rest', 'grpc'])
      expect(
        await page.$$eval(`#load-latency circle[data-style="${style}"]`, (c) => c.length),
      ).toBeGreaterThanOrEqual(1);
    const summary = await page.$$eval('#load-summary-rows tr', (rows) =>
      rows.map((row) => [...row.children].map((cell) => cell.textContent)),
    );
    // Every order is accounted for, accepted or refused; on a busy machine a few
    // user checks can miss their deadline (503), and the page names why.
    const refusals = (await text('#load-refusals')) ?? '';
    expect(summary.map((row) => row[0])).toEqual(['REST POST /orders', 'gRPC CreateOrder']);
    for (const [name, accepted, refused] of summary) {
      expect(Number(accepted) + Number(refused), `${name}: ${refusals}`).toBe(60);
      expect(Number(accepted), `${name}: ${refusals}`).toBeGreaterThan(30);
      if (Number(refused) > 0) expect(refusals).toMatch(/^Refused: /);
    }
    const accepted = await page.$$eval('#load-points-rows tr', (rows) =>
      rows.reduce((n, row) => n + Number(row.children[2]?.textContent), 0),
    );
    expect(accepted).toBe(summary.reduce((n, row) => n + Number(row[1]), 0));
    await page.screenshot({ path: join(SCREENSHOTS, 'load.png'), fullPage: true });

    // Over the cap: refused with the reason, nothing started.
    await page.$eval('#load-rate', (input) => {
      (input as HTMLInputElement).value = '500';
    });
    await page.click('#load-start');
    await page.waitForFunction(
      () => document.getElementById('load-status')?.textContent?.startsWith('The load was refused'),
      { timeout: 10_000 },
    );
    expect(await text('#load-status')).toContain('400 ratePerSecond must be a whole number');
  });

  it('lists the topics with their partitions, shows a dead letter with its reason, and a re-drive from the keyboard empties the DLQ', async () => {
    await page.waitForFunction(
      () =>
        document.querySelector('#topics-rows tr[data-topic="orders"]') !== null &&
        document.querySelector('#topics-rows tr[data-topic="notifications.dlq"]') !== null,
      { timeout: 15_000 },
    );
    // The orders placed so far, on the orders topic's partitions (first offset 0 on each).
    expect(await text('#topics-rows tr[data-topic="orders"]')).toMatch(/0: 0–\d+/);
    await page.waitForFunction(
      () => document.getElementById('dlq-status')?.textContent?.includes('is empty'),
      { timeout: 15_000 },
    );

    // A user event dead-lettered after its handling kept failing, as the
    // consumer writes one; whatever failed has been fixed since.
    const userId = randomUUID();
    const event = createEvent('user.registered.v1', {
      source: '/user-service',
      subject: userId,
      data: {
        userId,
        name: 'Grace Hopper',
        email: `grace.${Date.now()}@example.com`,
        registeredAt: new Date().toISOString(),
      },
    });
    const producer = await createKafka({
      brokers: system.infra.kafkaBrokers.split(','),
      clientId: 'console-e2e',
    }).producer();
    try {
      await producer.send(TOPICS.notificationsDlq, [
        {
          key: userId,
          value: JSON.stringify(event),
          headers: {
            [DLQ_HEADERS.reason]: 'failed',
            [DLQ_HEADERS.error]: 'failed 5 times: the database was away',
            [DLQ_HEADERS.topic]: TOPICS.users,
            [DLQ_HEADERS.partition]: '0',
            [DLQ_HEADERS.offset]: '0',
            [DLQ_HEADERS.group]: 'notifications',
            [DLQ_HEADERS.at]: new Date().toISOString(),
          },
        },
      ]);
    } finally {
      await producer.close();
    }
    await page.waitForFunction(
      () => document.querySelector('#dlq-rows tr[data-reason="failed"]') !== null,
      { timeout: 15_000 },
    );
    const row = (await text('#dlq-rows tr[data-reason="failed"]')) ?? '';
    expect(row).toContain('failed 5 times: the database was away');
    expect(row).toContain(`user.registered.v1 ${event.id}`);
    expect(await text('#dlq-status')).toBe('1 message(s) wait in notifications.dlq.');
    await page.screenshot({ path: join(SCREENSHOTS, 'kafka.png'), fullPage: true });

    // Keyboard only: the re-drive button takes Enter.
    await page.focus('#redrive');
    await page.keyboard.press('Enter');
    await page.waitForFunction(
      () => document.getElementById('redrive-result')?.textContent === 'Re-driven 1 message(s).',
      { timeout: 45_000 },
    );
    await page.waitForFunction(
      () =>
        document.getElementById('dlq-status')?.textContent ===
        'notifications.dlq is empty: nothing waits to be re-driven.',
      { timeout: 15_000 },
    );
    expect(await page.$$('#dlq-rows tr')).toHaveLength(0);
    // Handled this time: its notification reaches the page over SSE.
    await page.waitForFunction(
      (id: string) => document.querySelector(`#feed [data-event-id="${id}"]`) !== null,
      { timeout: 30_000 },
      event.id,
    );
  }, 120_000);

  /** Places an order with the form as it is filled in, and returns what the page says. */
  const placeOnce = async () => {
    await page.click('#place');
    await page.waitForFunction(
      () => !(document.getElementById('place') as HTMLButtonElement).disabled,
      { timeout: 15_000 },
    );
    return (await text('#place-result')) ?? '';
  };
  /** Places orders until `until` holds for the page's answer, within `timeoutMs`. */
  const placeUntil = async (
    until: (result: string) => boolean | Promise<boolean>,
    timeoutMs: number,
  ) => {
    const seen: string[] = [];
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const result = await placeOnce();
      seen.push(result);
      if (await until(result)) return seen;
    }
    throw new Error(`not within ${timeoutMs / 1000} s; the page said:\n${seen.join('\n')}`);
  };

  it('stops user-service from the faults panel, sees orders refused with 503 and the breaker open, restarts it, and sees orders accepted again', async () => {
    await page.click('#via-rest');
    await page.waitForFunction(
      () => document.getElementById('fault-user-service-state')?.textContent === 'running',
      { timeout: 10_000 },
    );
    expect(await text('#breaker-state')).toBe('closed');
    await page.click('#stop-user-service');
    await page.waitForFunction(
      () => document.getElementById('fault-user-service-state')?.textContent === 'stopped',
      { timeout: 30_000 },
    );

    // Every order is refused with 503 while user-service is away; the breaker opens.
    const refused = await placeUntil(async () => (await text('#breaker-state')) === 'open', 20_000);
    for (const result of refused)
      expect(result).toMatch(/^order-service refused the order over REST: 503 /);
    // The last refusal's timeline: refused at the request, nothing after it.
    await page
      .waitForFunction(
        () =>
          document
            .querySelector('#timeline-rows tr[data-hop="request"]')
            ?.textContent?.includes('refused 503'),
        { timeout: 10_000 },
      )
      .catch(async (error: unknown) => {
        const shown = await page.$eval('#timeline', (table) => (table as HTMLElement).innerText);
        throw new Error(`the timeline did not show the refusal:\n${shown}`, { cause: error });
      });
    await page.screenshot({ path: join(SCREENSHOTS, 'faults.png'), fullPage: true });

    // Back again: once the breaker lets a trial call through, orders are accepted.
    await page.click('#start-user-service');
    await page.waitForFunction(
      () => document.getElementById('fault-user-service-state')?.textContent === 'running',
      { timeout: 60_000 },
    );
    const recovery = await placeUntil((result) => result.startsWith('Order '), 30_000);
    expect(recovery.at(-1)).toMatch(/^Order [0-9a-f-]{36} placed over REST/);
    await page.waitForFunction(
      () => document.getElementById('breaker-state')?.textContent === 'closed',
      { timeout: 10_000 },
    );
  });

  /** The number a faults-panel figure starts with ("3 event(s) …", "2 row(s) …"); -1 when unknown. */
  const leadingNumber = async (selector: string) => {
    const found = /^(\d+) /.exec((await text(selector)) ?? '');
    return found?.[1] === undefined ? -1 : Number(found[1]);
  };
  const targetIs = (target: string, state: 'running' | 'stopped', timeout: number) =>
    page.waitForFunction(
      (id: string, wanted: string) => document.getElementById(id)?.textContent === wanted,
      { timeout },
      `fault-${target}-state`,
      state,
    );

  it('pauses notification-service: orders are accepted and wait in Kafka, the lag grows; resumed, it drains to 0', async () => {
    await targetIs('notification-service', 'running', 10_000);
    await page.waitForFunction(
      () => document.getElementById('fault-lag')?.textContent === '0 event(s) not yet consumed',
      { timeout: 30_000 },
    );
    await page.click('#stop-notification-service');
    await targetIs('notification-service', 'stopped', 60_000);
    const placed = await placeUntil(async () => (await leadingNumber('#fault-lag')) >= 2, 30_000);
    for (const result of placed) expect(result).toMatch(/^Order [0-9a-f-]{36} placed over REST/);
    await page.screenshot({ path: join(SCREENSHOTS, 'faults-lag.png'), fullPage: true });

    await page.click('#start-notification-service');
    await targetIs('notification-service', 'running', 90_000);
    await page.waitForFunction(
      () => document.getElementById('fault-lag')?.textContent === '0 event(s) not yet consumed',
      { timeout: 60_000 },
    );
  }, 240_000);

  it('stops Kafka: orders are still accepted and their events wait in the outbox; started again, the backlog empties', async () => {
    await targetIs('kafka', 'running', 10_000);
    await page.click('#stop-kafka');
    await targetIs('kafka', 'stopped', 60_000);
    // Rows waiting for seconds, not the moment between a commit and its publish.
    const placed = await placeUntil(async () => {
      const shown = /^(\d+) row\(s\), the oldest ([\d.]+) s old$/.exec(
        (await text('#outbox-backlog')) ?? '',
      );
      return Number(shown?.[1] ?? 0) >= 2 && Number(shown?.[2] ?? 0) >= 2;
    }, 30_000);
    for (const result of placed) expect(result).toMatch(/^Order [0-9a-f-]{36} placed over REST/);
    await page.screenshot({ path: join(SCREENSHOTS, 'faults-outbox.png'), fullPage: true });

    await page.click('#start-kafka');
    await targetIs('kafka', 'running', 120_000);
    await page.waitForFunction(
      () => document.getElementById('outbox-backlog')?.textContent?.startsWith('0 row(s)'),
      { timeout: 60_000 },
    );
  }, 300_000);

  it('has no serious or critical accessibility violations (axe-core)', async () => {
    // Evaluated through the DevTools protocol, which the page's CSP does not govern.
    await page.evaluate(await axeSource);
    const violations = await page.evaluate(async () => {
      const axe = (
        window as unknown as {
          axe: {
            run(): Promise<{
              violations: {
                id: string;
                impact: string;
                help: string;
                nodes: { target: string[] }[];
              }[];
            }>;
          };
        }
      ).axe;
      const result = await axe.run();
      return result.violations.map((v) => ({
        id: v.id,
        impact: v.impact,
        help: v.help,
        targets: v.nodes.map((n) => n.target.join(' ')),
      }));
    });
    expect(violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')).toEqual([]);
  });
});
