import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signInAsUser, startTokenIssuer } from '@comms/infra';
import type { RunningTokenIssuer } from '@comms/infra';
import type { KafkaProducer } from '@comms/kafka';
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

// A stream lives as long as its token: against a real issuer whose tokens last a few
// seconds, a stream ends by itself at its token's expiry, the expired token is refused,
// and a fresh one resumes with Last-Event-ID. The same service without AUTH_ISSUER_URL
// (sharing the database) keeps its stream open.

const TTL_S = 4;
let issuer: RunningTokenIssuer;
let db: TestDatabase;
let producer: KafkaProducer;
let secured: Awaited<ReturnType<typeof startNotificationService>>;
let open: Awaited<ReturnType<typeof startNotificationService>>;
const topics = suiteTopics();
const userA = randomUUID();
const userB = randomUUID();

const signIn = async (userId = userA) =>
  (await signInAsUser({ issuerUrl: issuer.url, userId, api: 'notification-service' })).accessToken;

/** The token's `exp`, in milliseconds (read, not verified: the service verifies it). */
const expiryOf = (token: string) =>
  (JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as { exp: number })
    .exp * 1000;

interface Block {
  readonly event: string | undefined;
  readonly id: string | undefined;
  readonly data: string;
}

/** A stream read in the background: its events so far, and whether the server ended it. */
async function openStream(
  baseUrl: string,
  token: string | undefined,
  lastEventId?: string,
): Promise<{
  response: Response;
  blocks: () => Block[];
  ended: () => boolean;
  body: () => Promise<string>;
  close: () => void;
}> {
  const controller = new AbortController();
  const response = await fetch(`${baseUrl}/notifications/stream`, {
    headers: {
      accept: 'text/event-stream',
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      ...(lastEventId === undefined ? {} : { 'last-event-id': lastEventId }),
    },
    signal: controller.signal,
  });
  let text = '';
  let ended = false;
  const done = (async () => {
    if (response.status !== 200 || response.body === null) {
      text = await response.text();
      ended = true;
      return;
    }
    const decoder = new TextDecoder();
    try {
      for await (const chunk of response.body) text += decoder.decode(chunk as Uint8Array);
      ended = true; // the server ended the response
    } catch {
      // aborted by close()
    }
  })();
  const field = (lines: string[], name: string) =>
    lines.find((line) => line.startsWith(`${name}: `))?.slice(name.length + 2);
  return {
    response,
    blocks: () =>
      text
        .split('\n\n')
        .map((block) => block.split('\n'))
        .filter((lines) => lines.some((line) => line.startsWith('event: ')))
        .map((lines) => ({
          event: field(lines, 'event'),
          id: field(lines, 'id'),
          data: lines
            .filter((line) => line.startsWith('data: '))
            .map((line) => line.slice(6))
            .join('\n'),
        })),
    ended: () => ended,
    body: async () => {
      await done;
      return text;
    },
    close: () => controller.abort(),
  };
}

const notificationsIn = (blocks: Block[]) =>
  blocks
    .filter((b) => b.event === 'notification')
    .map((b) => ({ id: b.id, ...(JSON.parse(b.data) as { eventId: string }) }));

/** Waits until the auth-off service lists a notification made from `eventId`. */
const stored = (eventId: string, userId = userA) =>
  waitFor(
    async () => {
      const response = await fetch(`${open.http.url}/notifications?userId=${userId}&limit=200`);
      const { items } = (await response.json()) as { items: { eventId: string }[] };
      return items.some((n) => n.eventId === eventId) ? true : undefined;
    },
    { timeoutMs: 30_000, message: `the notification of event ${eventId} was not stored` },
  );

beforeAll(async () => {
  issuer = await startTokenIssuer({ port: 'random', accessTokenTtlSeconds: TTL_S });
  db = await createTestDatabase('notification_stream_expiry');
  ({ producer } = await connectToTopics(topics, {
    clientId: 'stream-expiry-test',
    partitions: 1,
  }));
  // Each consumes in a group of its own and stores into the same database (a notification once per event).
  secured = await startTestNotificationService(db.url, topics, { AUTH_ISSUER_URL: issuer.url });
  open = await startTestNotificationService(db.url, topics);
  const welcomes = [userA, userB].map((userId) => ({
    userId,
    event: userRegistered(userId, { name: 'Ada' }),
  }));
  await publishEvents(producer, topics.users, ...welcomes.map((welcome) => welcome.event));
  // Stored before any stream opens: a stream that saw them arrive live would count them.
  for (const { userId, event } of welcomes) await stored(event.id, userId);
}, 120_000);

afterAll(async () => {
  await secured?.stop();
  await open?.stop();
  await producer?.close();
  await issuer?.stop();
  await db?.drop();
});

describe('a stream lives as long as its token', () => {
  it('ends at its token’s expiry with token-expired; the expired token gets 401; a fresh one resumes with Last-Event-ID', async () => {
    const token = await signIn();
    const expiresAt = expiryOf(token);
    expect(expiresAt - Date.now()).toBeLessThanOrEqual(TTL_S * 1000);
    const stream = await openStream(secured.http.url, token);
    const unlimited = await openStream(open.http.url, undefined);
    try {
      expect(stream.response.status).toBe(200);
      expect(unlimited.response.status).toBe(200);

      const first = orderCreated(userA);
      await publishEvents(producer, topics.orders, first);
      const delivered = await waitFor(
        () => notificationsIn(stream.blocks()).find((n) => n.eventId === first.id),
        { timeoutMs: 30_000, message: 'the stream did not deliver the first notification' },
      );

      // It ends by itself, once the token has expired and not long after.
      await waitFor(() => (stream.ended() ? true : undefined), {
        timeoutMs: TTL_S * 1000 + 10_000,
        message: 'the stream was still open after its token expired',
      });
      const endedAt = Date.now();
      expect(endedAt).toBeGreaterThanOrEqual(expiresAt);
      expect(endedAt - expiresAt).toBeLessThan(3_000);
      const last = stream.blocks().at(-1);
      expect(last?.event).toBe('token-expired');
      expect(last?.id, 'the resume point: the last notification sent').toBe(delivered.id);
      expect(JSON.parse(last?.data ?? '{}')).toEqual({
        expiredAt: new Date(expiresAt).toISOString(),
        detail: expect.stringMatching(/reconnect with Last-Event-ID and a fresh token/) as unknown,
      });

      // Stored while the client was away.
      const missed = orderCreated(userA);
      await publishEvents(producer, topics.orders, missed);
      await stored(missed.id);

      // The expired token is refused, also within the verifier's clock tolerance.
      const refused = await openStream(secured.http.url, token, delivered.id);
      expect(refused.response.status).toBe(401);
      expect(refused.response.headers.get('www-authenticate')).toMatch(
        /error="invalid_token", error_description="the access token expired at/,
      );
      expect(JSON.parse(await refused.body())).toMatchObject({ code: 'UNAUTHENTICATED' });

      // A fresh token resumes after the last notification received, and gets what it missed.
      const resumed = await openStream(secured.http.url, await signIn(), delivered.id);
      try {
        expect(resumed.response.status).toBe(200);
        await waitFor(() => (notificationsIn(resumed.blocks()).length > 0 ? true : undefined), {
          timeoutMs: 30_000,
          message: 'the resumed stream replayed nothing',
        });
        expect(notificationsIn(resumed.blocks()).map((n) => n.eventId)).toEqual([missed.id]);
      } finally {
        resumed.close();
      }

      // Without AUTH_ISSUER_URL the stream is still open, and got both live.
      await waitFor(() => (notificationsIn(unlimited.blocks()).length >= 2 ? true : undefined), {
        timeoutMs: 30_000,
        message: 'the stream without authentication missed one',
      });
      expect(unlimited.ended()).toBe(false);
      expect(unlimited.blocks().some((b) => b.event === 'token-expired')).toBe(false);
      expect(notificationsIn(unlimited.blocks()).map((n) => n.eventId)).toEqual([
        first.id,
        missed.id,
      ]);
    } finally {
      stream.close();
      unlimited.close();
    }
  }, 60_000);

  it('gives a stream that sent nothing a resume point: its reconnect misses nothing stored in the gap', async () => {
    const quiet = await openStream(secured.http.url, await signIn(userB));
    try {
      expect(quiet.response.status).toBe(200);
      await waitFor(() => (quiet.ended() ? true : undefined), {
        timeoutMs: TTL_S * 1000 + 10_000,
        message: 'the quiet stream was still open after its token expired',
      });
      const last = quiet.blocks().at(-1);
      expect(last?.event).toBe('token-expired');
      expect(notificationsIn(quiet.blocks())).toEqual([]);
      expect(last?.id, 'the newest id stored as the stream opened').toMatch(/^[0-9]+$/);

      const inGap = orderCreated(userB);
      await publishEvents(producer, topics.orders, inGap);
      await stored(inGap.id, userB);
      const resumed = await openStream(secured.http.url, await signIn(userB), last?.id);
      try {
        expect(resumed.response.status).toBe(200);
        await waitFor(() => (notificationsIn(resumed.blocks()).length > 0 ? true : undefined), {
          timeoutMs: 30_000,
          message: 'the resumed quiet stream replayed nothing',
        });
        expect(notificationsIn(resumed.blocks()).map((n) => n.eventId)).toEqual([inGap.id]);
      } finally {
        resumed.close();
      }
    } finally {
      quiet.close();
    }
  }, 60_000);
});
