import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signInAsUser, startTokenIssuer, tokenForClient } from '@comms/infra';
import type { RunningTokenIssuer } from '@comms/infra';
import type { KafkaProducer } from '@comms/kafka';
import type { HttpApp } from '@comms/service-kit';
import { createTestDatabase, waitFor } from '@comms/testing';
import type { TestDatabase } from '@comms/testing';
import type { startNotificationService } from './main.js';
import {
  connectToTopics,
  orderCreated,
  publishEvents,
  startTestNotificationService,
  suiteTopics,
  userRegistered,
} from './test-support.js';

// notification-service with AUTH_ISSUER_URL set, against the real issuer, PostgreSQL and Kafka:
// users read their own notifications, the operator and the console everything.

let issuer: RunningTokenIssuer;
let db: TestDatabase;
let producer: KafkaProducer;
let service: Awaited<ReturnType<typeof startNotificationService>>;
let app: HttpApp;
const topics = suiteTopics();
const userA = randomUUID();
const userB = randomUUID();
const tokens: Record<'a' | 'b' | 'operator' | 'console' | 'aForOrders', string> = {
  a: '',
  b: '',
  operator: '',
  console: '',
  aForOrders: '',
};

const bearer = (token: string | undefined) =>
  token === undefined ? {} : { authorization: `Bearer ${token}` };

interface Listed {
  readonly items: readonly { eventId: string; userId: string; orderId: string | null }[];
}

/** GET /notifications as the operator, until `count` are stored for the filter. */
const storedFor = (query: string, count: number) =>
  waitFor(
    async () => {
      const response = await app.inject({
        url: `/notifications?${query}`,
        headers: bearer(tokens.operator),
      });
      const listed = response.json<Listed>();
      return listed.items.length >= count ? listed.items : undefined;
    },
    { timeoutMs: 30_000, message: `fewer than ${count} notifications for ${query}` },
  );

let orderOfA: string;
let orderOfB: string;

beforeAll(async () => {
  issuer = await startTokenIssuer({ port: 'random' });
  db = await createTestDatabase('notification_auth');
  ({ producer } = await connectToTopics(topics, { clientId: 'auth-test' }));
  service = await startTestNotificationService(db.url, topics, { AUTH_ISSUER_URL: issuer.url });
  app = service.app;
  const api = 'notification-service';
  tokens.a = (await signInAsUser({ issuerUrl: issuer.url, userId: userA, api })).accessToken;
  tokens.b = (await signInAsUser({ issuerUrl: issuer.url, userId: userB, api })).accessToken;
  tokens.operator = (
    await signInAsUser({ issuerUrl: issuer.url, userId: 'operator', api })
  ).accessToken;
  tokens.aForOrders = (await signInAsUser({ issuerUrl: issuer.url, userId: userA })).accessToken;
  tokens.console = (
    await tokenForClient({
      issuerUrl: issuer.url,
      clientId: 'console',
      api: 'notification-service',
    })
  ).accessToken;

  const [a, b] = [orderCreated(userA), orderCreated(userB)];
  orderOfA = a.data.orderId;
  orderOfB = b.data.orderId;
  await publishEvents(
    producer,
    topics.users,
    userRegistered(userA, { name: 'Ada' }),
    userRegistered(userB, { name: 'Brian' }),
  );
  await publishEvents(producer, topics.orders, a, b);
  await storedFor(`userId=${userA}`, 2);
  await storedFor(`userId=${userB}`, 2);
}, 120_000);

afterAll(async () => {
  await service?.stop();
  await producer?.close();
  await issuer?.stop();
  await db?.drop();
});

describe('notification-service REST with authentication (AUTH_ISSUER_URL set)', () => {
  it('lists a user’s own notifications only, with or without userId, and by their own order', async () => {
    for (const url of ['/notifications', `/notifications?userId=${userA}`]) {
      const own = (await app.inject({ url, headers: bearer(tokens.a) })).json<Listed>();
      expect(own.items.length, url).toBe(2);
      expect(new Set(own.items.map((n) => n.userId))).toEqual(new Set([userA]));
    }
    const byOrder = await app.inject({
      url: `/notifications?orderId=${orderOfA}`,
      headers: bearer(tokens.a),
    });
    expect(byOrder.json<Listed>().items.map((n) => n.orderId)).toEqual([orderOfA]);
  });

  it('shows a user nothing of another user’s order when filtering by it', async () => {
    const response = await app.inject({
      url: `/notifications?orderId=${orderOfB}`,
      headers: bearer(tokens.a),
    });
    expect(response.statusCode).toBe(200);
    expect(response.json<Listed>().items).toEqual([]);
  });

  it('lets the operator and the console read anyone’s, the lag and the DLQ, and re-drive', async () => {
    for (const token of [tokens.operator, tokens.console]) {
      const all = (
        await app.inject({ url: '/notifications', headers: bearer(token) })
      ).json<Listed>();
      expect(new Set(all.items.map((n) => n.userId))).toEqual(new Set([userA, userB]));
      const ofB = await app.inject({
        url: `/notifications?userId=${userB}`,
        headers: bearer(token),
      });
      expect(ofB.json<Listed>().items).toHaveLength(2);
      expect((await app.inject({ url: '/consumer/lag', headers: bearer(token) })).statusCode).toBe(
        200,
      );
      expect((await app.inject({ url: '/dlq', headers: bearer(token) })).statusCode).toBe(200);
    }
    const redrive = await app.inject({
      method: 'POST',
      url: '/dlq/redrive',
      headers: bearer(tokens.console),
    });
    expect(redrive.json()).toMatchObject({ redriven: 0, drained: true });
  });

  it('leaves the health and docs routes open', async () => {
    expect((await app.inject({ url: '/healthz' })).statusCode).toBe(200);
    expect((await app.inject({ url: '/readyz' })).statusCode).toBe(200);
    expect((await app.inject({ url: '/docs/json' })).statusCode).toBe(200);
  });

  const refusals: readonly {
    readonly name: string;
    readonly method?: 'GET' | 'POST';
    readonly url: () => string;
    readonly token: () => string | undefined;
    readonly status: 401 | 403;
    readonly challenge: RegExp;
    readonly detail: RegExp;
  }[] = [
    {
      name: 'no token on the list',
      url: () => `/notifications?userId=${userA}`,
      token: () => undefined,
      status: 401,
      challenge: /^Bearer realm="notification-service"$/,
      detail: /needs a bearer access token/,
    },
    {
      name: 'a user’s token for order-service (wrong audience)',
      url: () => `/notifications?userId=${userA}`,
      token: () => tokens.aForOrders,
      status: 401,
      challenge: /error="invalid_token", error_description="the access token is for/,
      detail: /expected "urn:comms:notification-service"/,
    },
    {
      name: 'user A listing user B’s notifications',
      url: () => `/notifications?userId=${userB}`,
      token: () => tokens.a,
      status: 403,
      challenge: /error="insufficient_scope"/,
      detail: new RegExp(
        `permission 'notifications:read' is for one's own notifications or the role 'operator' or the client console: the token is user '${userA}', the request names userId '${userB}'`,
      ),
    },
    {
      name: 'user A streaming user B’s notifications',
      url: () => `/notifications/stream?userId=${userB}`,
      token: () => tokens.a,
      status: 403,
      challenge: /insufficient_scope/,
      detail: /permission 'notifications:read' is for one's own notifications/,
    },
    {
      name: 'no token on the stream',
      url: () => '/notifications/stream',
      token: () => undefined,
      status: 401,
      challenge: /^Bearer realm="notification-service"$/,
      detail: /needs a bearer access token/,
    },
    {
      name: 'a user reading the DLQ',
      url: () => '/dlq',
      token: () => tokens.a,
      status: 403,
      challenge: /insufficient_scope/,
      detail: new RegExp(
        `permission 'dlq:read' is for the role 'operator' or the client console; user '${userA}' is neither`,
      ),
    },
    {
      name: 'a user re-driving the DLQ',
      method: 'POST',
      url: () => '/dlq/redrive',
      token: () => tokens.b,
      status: 403,
      challenge: /insufficient_scope/,
      detail: /permission 'dlq:redrive' is for the role 'operator' or the client console/,
    },
    {
      name: 'no token on the re-drive',
      method: 'POST',
      url: () => '/dlq/redrive',
      token: () => undefined,
      status: 401,
      challenge: /^Bearer realm="notification-service"$/,
      detail: /needs a bearer access token/,
    },
    {
      name: 'a user reading the consumer lag',
      url: () => '/consumer/lag',
      token: () => tokens.a,
      status: 403,
      challenge: /insufficient_scope/,
      detail: /permission 'consumer-lag:read' is for the role 'operator'/,
    },
  ];

  it.each(refusals)('$name: $status, a problem document with a challenge', async (refusal) => {
    const response = await app.inject({
      method: refusal.method ?? 'GET',
      url: refusal.url(),
      headers: bearer(refusal.token()),
    });
    expect(response.statusCode, response.body).toBe(refusal.status);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.headers['www-authenticate']).toMatch(refusal.challenge);
    expect(response.json<{ detail: string }>().detail).toMatch(refusal.detail);
  });
});

/** A stream read in the background; `events()` are its notifications so far. */
async function openStream(path: string, token: string | undefined) {
  const controller = new AbortController();
  const response = await fetch(`${service.http.url}${path}`, {
    headers: { accept: 'text/event-stream', ...bearer(token) },
    signal: controller.signal,
  });
  let text = '';
  const done = (async () => {
    if (response.status !== 200 || response.body === null) {
      text = await response.text();
      return;
    }
    const decoder = new TextDecoder();
    try {
      for await (const chunk of response.body) text += decoder.decode(chunk as Uint8Array);
    } catch {
      // aborted by close()
    }
  })();
  return {
    response,
    text: async () => {
      if (response.status !== 200) await done;
      return text;
    },
    notifications: () =>
      text
        .split('\n\n')
        .filter((block) => block.includes('event: notification'))
        .map(
          (block) =>
            JSON.parse(
              block
                .split('\n')
                .filter((line) => line.startsWith('data: '))
                .map((line) => line.slice(6))
                .join('\n'),
            ) as { userId: string; eventId: string },
        ),
    close: () => controller.abort(),
  };
}

describe('the live feed with authentication', () => {
  it('refuses a stream without a token with a 401 problem document, not an opened stream', async () => {
    const refused = await openStream('/notifications/stream', undefined);
    expect(refused.response.status).toBe(401);
    expect(refused.response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(refused.response.headers.get('www-authenticate')).toBe(
      'Bearer realm="notification-service"',
    );
    expect(JSON.parse(await refused.text())).toMatchObject({
      status: 401,
      code: 'UNAUTHENTICATED',
    });
  });

  it('streams a user only their own new notifications; the operator gets everyone’s', async () => {
    const own = await openStream('/notifications/stream', tokens.a);
    const everyone = await openStream('/notifications/stream', tokens.operator);
    try {
      expect(own.response.status).toBe(200);
      expect(own.response.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const [ofB, ofA] = [orderCreated(userB), orderCreated(userA)];
      // B's first: by the time A's arrives, B's would have too, had it been let through.
      await publishEvents(producer, topics.orders, ofB);
      await storedFor(`orderId=${ofB.data.orderId}`, 1);
      await publishEvents(producer, topics.orders, ofA);
      await waitFor(() => (own.notifications().length > 0 ? true : undefined), {
        timeoutMs: 30_000,
        message: 'user A’s stream delivered nothing',
      });
      await waitFor(() => (everyone.notifications().length >= 2 ? true : undefined), {
        timeoutMs: 30_000,
        message: 'the operator’s stream did not deliver both',
      });
      expect(own.notifications().map((n) => n.userId)).toEqual([userA]);
      expect(new Set(everyone.notifications().map((n) => n.userId))).toEqual(
        new Set([userA, userB]),
      );
    } finally {
      own.close();
      everyone.close();
    }
  });
});
