import { createHash, randomUUID } from 'node:crypto';
import { Client, credentials, Metadata, status } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOPICS } from '@comms/contracts';
import { CreateOrderRequest, GRPC_SERVICE_NAMES } from '@comms/contracts/grpc';
import { createKafka } from '@comms/kafka';
import type { KafkaProducer } from '@comms/kafka';
import type { ServiceName } from '@comms/endpoints';
import { startSystem } from '@comms/local-system';
import type { RunningSystem } from '@comms/local-system';
import { asTools, asUser, query, registerUsers, tapTopics, until } from './harness.js';
import { PROFILE } from './config.js';
import { recordRow, writeSuiteTable } from './report.js';
import type { Claim, ReportRow } from './report.js';
import { ensureSchemathesis, fuzzOpenApi } from './schemathesis.js';

/**
 * Bad input on every public interface of the running system: generated
 * requests against each OpenAPI document, broken gRPC messages, and
 * garbage on the topics. Nothing may answer 5xx, break its documented
 * response shape, crash, or stop consuming.
 */

let system: RunningSystem;
let tap: Awaited<ReturnType<typeof tapTopics>>;
let producer: KafkaProducer;
const rows: ReportRow[] = [];

beforeAll(async () => {
  system = await startSystem({
    ports: 'random',
    // Identity on: every call carries a token as a real client's would.
    auth: true,
    infraEnv: { COMMS_INFRA: 'native' },
    // The fuzzer sends hundreds of requests a second from one address.
    env: { RATE_LIMIT_PER_MINUTE: '0' },
  });
  tap = await tapTopics(system.infra.kafkaBrokers);
  producer = await createKafka({
    brokers: [system.infra.kafkaBrokers],
    clientId: 'reliability-fuzz',
  }).producer();
}, 300_000);

afterAll(async () => {
  await producer?.close().catch(() => undefined);
  await tap?.close().catch(() => undefined);
  await system?.stop();
  await writeSuiteTable('fuzz', rows, { profile: PROFILE.name });
});

function judge(row: Omit<ReportRow, 'passed' | 'expected'>, claims: readonly Claim[]) {
  expect(recordRow(rows, row, claims), `${row.scenario}: ${row.counted}`).toEqual([]);
}

/** Every service still answers /readyz with 200. */
async function allReady(): Promise<boolean> {
  const names: ServiceName[] = ['user-service', 'order-service', 'notification-service'];
  const answers = await Promise.all(
    names.map((name) =>
      fetch(`${system.services[name].http}/readyz`)
        .then((r) => r.status)
        .catch(() => 0),
    ),
  );
  return answers.every((s) => s === 200);
}

describe(`bad input (${PROFILE.name} profile)`, { concurrent: false }, () => {
  let schemathesis: string;

  beforeAll(async () => {
    schemathesis = await ensureSchemathesis();
  }, 900_000);

  for (const name of ['user-service', 'order-service', 'notification-service'] as const) {
    it(`fuzzes ${name}'s OpenAPI document: every check passes, no 5xx`, async () => {
      // Some real users, so generated ids sometimes hit something.
      const [user = ''] = await registerUsers(system, `fuzz-${name}`, 2);
      // Who calls each API: a signed-in user (order-service, their feed at
      // notification-service), the back office's own token (user-service).
      // A generated userId that is not the token's is a documented 403.
      const bearer =
        name === 'user-service'
          ? await system.tokens.service('tools', 'user-service')
          : await system.tokens.user(user, name);
      const result = await fuzzOpenApi({
        bearer,
        bin: schemathesis,
        documentUrl: `${system.services[name].http}/docs/json`,
        maxExamples: PROFILE.fuzzExamples,
        ...(PROFILE.name === 'short' ? { seed: 1 } : {}),
        // /docs is the UI, /metrics is not JSON, the stream never ends.
        excludePaths: ['/docs', '/metrics', '/notifications/stream'],
      });
      // What schemathesis found, before the judgement fails the test.
      if (result.exitCode !== 0) console.log(result.output);
      const serverErrors = Object.entries(result.failures)
        .filter(([check]) => check.startsWith('ST101'))
        .reduce((sum, [, n]) => sum + n, 0);
      const otherFailures = Object.entries(result.failures).filter(
        ([check]) => !check.startsWith('ST101'),
      );
      judge(
        {
          scenario: `REST fuzz: ${name}`,
          injected: `schemathesis, all checks, ${String(PROFILE.fuzzExamples)} examples per operation, examples + coverage + fuzzing + stateful phases, ${name === 'user-service' ? "the back office's client-credentials token" : "a signed-in user's token"}`,
          counted: `${String(result.generated)} cases over ${String(result.operations)} operations; only 401: ${result.onlyUnauthorized.join(', ') || 'none'}; server errors ${String(serverErrors)}; other failures ${otherFailures.map(([check, n]) => `${check} ×${String(n)}`).join(', ') || 'none'}; errors ${result.errors.join(', ') || 'none'}; exit ${String(result.exitCode)}`,
        },
        [
          { what: 'operations were tested', ok: result.operations > 0 && result.generated > 0 },
          {
            what: 'the token is accepted (no operation answered only 401)',
            ok: result.onlyUnauthorized.length === 0,
          },
          { what: 'no 5xx', ok: serverErrors === 0 },
          { what: 'every other check passes', ok: otherFailures.length === 0 },
          { what: 'no run errors', ok: result.errors.length === 0 && result.exitCode === 0 },
        ],
      );
    });
  }

  it('answers broken gRPC messages with INVALID_ARGUMENT or RESOURCE_EXHAUSTED and keeps serving', async () => {
    const [userId = ''] = await registerUsers(system, 'fuzz-grpc', 1);
    const valid = Buffer.from(
      CreateOrderRequest.encode({
        userId,
        items: [{ productId: 'p-1', quantity: 2, price: '1.50' }],
        idempotencyKey: '',
      }).finish(),
    );
    // Bytes on the wire, chosen to break decoding in different ways.
    const inputs: { what: string; bytes: Buffer; expect: status }[] = [
      {
        what: 'length beyond the end',
        bytes: Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f]),
        expect: status.INVALID_ARGUMENT,
      },
      {
        what: 'truncated',
        bytes: valid.subarray(0, valid.length - 4),
        expect: status.INVALID_ARGUMENT,
      },
      {
        what: 'arbitrary bytes',
        bytes: createHash('sha512').update('fuzz').digest(),
        expect: status.INVALID_ARGUMENT,
      },
      {
        what: 'string field sent as a number',
        bytes: Buffer.from([0x08, 0x96, 0x01]),
        expect: status.INVALID_ARGUMENT,
      },
      {
        what: 'invalid UTF-8 in a string',
        bytes: Buffer.from([0x0a, 0x03, 0xff, 0xfe, 0xfd]),
        expect: status.INVALID_ARGUMENT,
      },
      { what: 'empty message', bytes: Buffer.alloc(0), expect: status.INVALID_ARGUMENT },
      {
        what: '2 MiB message',
        bytes: Buffer.concat([
          Buffer.from([0x0a, 0x80, 0x80, 0x80, 0x01]),
          Buffer.alloc(2 * 1024 * 1024, 0x61),
        ]),
        expect: status.RESOURCE_EXHAUSTED,
      },
    ];
    const rpcs = [
      {
        address: system.services['user-service'].grpc ?? '',
        as: 'tools' as const,
        path: `/${GRPC_SERVICE_NAMES.user}/GetUser`,
      },
      {
        address: system.services['user-service'].grpc ?? '',
        as: 'tools' as const,
        path: `/${GRPC_SERVICE_NAMES.user}/ValidateUser`,
      },
      {
        address: system.services['user-service'].grpc ?? '',
        as: 'tools' as const,
        path: `/${GRPC_SERVICE_NAMES.user}/CreateUser`,
      },
      {
        address: system.services['user-service'].grpc ?? '',
        as: 'tools' as const,
        path: `/${GRPC_SERVICE_NAMES.user}/DeactivateUser`,
      },
      {
        address: system.services['order-service'].grpc ?? '',
        as: 'user' as const,
        path: `/${GRPC_SERVICE_NAMES.order}/CreateOrder`,
      },
      {
        address: system.services['order-service'].grpc ?? '',
        as: 'user' as const,
        path: `/${GRPC_SERVICE_NAMES.order}/GetOrder`,
      },
    ];
    const identity = (b: Buffer) => b;
    // The callers' tokens: the back office's for user-service, the user's for order-service.
    const tokenOf = {
      tools: await asTools(system),
      user: await asUser(system, userId),
    };
    const metadataOf = (as: keyof typeof tokenOf) => {
      const metadata = new Metadata();
      const { authorization } = tokenOf[as];
      if (authorization !== undefined) metadata.set('authorization', authorization);
      return metadata;
    };
    const call = (address: string, path: string, as: keyof typeof tokenOf, bytes: Buffer) =>
      new Promise<{ code: status; details: string }>((resolve) => {
        const client = new Client(address, credentials.createInsecure(), {
          'grpc.max_send_message_length': 4 * 1024 * 1024,
        });
        client.makeUnaryRequest(
          path,
          identity,
          identity,
          bytes,
          metadataOf(as),
          { deadline: Date.now() + 10_000 },
          (error: ServiceError | null) => {
            client.close();
            resolve(
              error === null
                ? { code: status.OK, details: '' }
                : { code: error.code, details: error.details },
            );
          },
        );
      });
    const wrong: string[] = [];
    let calls = 0;
    for (const rpc of rpcs) {
      for (const input of inputs) {
        calls += 1;
        const answer = await call(rpc.address, rpc.path, rpc.as, input.bytes);
        if (answer.code !== input.expect)
          wrong.push(`${rpc.path} ${input.what}: ${status[answer.code]} ${answer.details}`);
      }
    }
    // Still serving: a valid call works on both servers, and every service is ready.
    const createOrder = await call(rpcs[4]?.address ?? '', rpcs[4]?.path ?? '', 'user', valid);
    const stillReady = await allReady();
    judge(
      {
        scenario: 'gRPC broken messages',
        injected: `${String(inputs.length)} kinds (${inputs.map((i) => i.what).join(', ')}) × ${String(rpcs.length)} RPCs`,
        counted: `${String(calls - wrong.length)}/${String(calls)} answered as expected${wrong.length === 0 ? '' : `; wrong: ${wrong.slice(0, 3).join('; ')}`}; valid CreateOrder afterwards ${status[createOrder.code]}; services ready ${String(stillReady)}`,
      },
      [
        {
          what: 'INVALID_ARGUMENT (RESOURCE_EXHAUSTED when oversized), never INTERNAL',
          ok: wrong.length === 0,
        },
        { what: 'servers keep serving', ok: createOrder.code === status.OK && stillReady },
      ],
    );
  });

  it('dead-letters garbage, wrong CloudEvents, future versions and huge messages on both topics, and keeps consuming', async () => {
    const envelope = (type: string, data: unknown, extra: Record<string, unknown> = {}) =>
      JSON.stringify({
        specversion: '1.0',
        id: randomUUID(),
        source: '/reliability/fuzz',
        type,
        time: new Date().toISOString(),
        subject: randomUUID(),
        datacontenttype: 'application/json',
        data,
        ...extra,
      });
    const bad = (topic: string) => {
      const prefix = topic === TOPICS.orders ? 'order' : 'user';
      return [
        { what: 'arbitrary bytes', value: createHash('sha512').update(topic).digest() },
        { what: 'not JSON', value: Buffer.from('{"specversion": "1.0", ') },
        { what: 'empty', value: Buffer.alloc(0) },
        { what: 'JSON but not an event', value: Buffer.from('{"hello":"world"}') },
        {
          what: 'CloudEvents 0.3',
          value: Buffer.from(envelope(`${prefix}.created.v1`, {}, { specversion: '0.3' })),
        },
        {
          what: 'no id',
          value: Buffer.from(envelope(`${prefix}.created.v1`, {}, { id: undefined })),
        },
        {
          what: 'data of the wrong shape',
          value: Buffer.from(
            envelope(topic === TOPICS.orders ? 'order.created.v1' : 'user.registered.v1', {
              items: 'many',
            }),
          ),
        },
        {
          what: 'a future version',
          value: Buffer.from(
            envelope(topic === TOPICS.orders ? 'order.created.v9' : 'user.registered.v9', {}),
          ),
        },
        {
          what: 'huge (900 KiB)',
          value: Buffer.from(
            envelope(topic === TOPICS.orders ? 'order.created.v1' : 'user.registered.v1', {
              padding: 'x'.repeat(900 * 1024),
            }),
          ),
        },
      ];
    };
    const sent: { key: string; topic: string; what: string }[] = [];
    for (const topic of [TOPICS.orders, TOPICS.users]) {
      for (const message of bad(topic)) {
        const key = `fuzz-${randomUUID()}`;
        await producer.send(topic, [{ key, value: message.value }]);
        sent.push({ key, topic, what: message.what });
      }
    }
    // Good events after the bad ones: a new user (users topic) and an order for them (orders topic).
    const [userId = ''] = await registerUsers(system, 'fuzz-after', 1);
    const order = await fetch(`${system.services['order-service'].http}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(await asUser(system, userId)) },
      body: JSON.stringify({
        userId,
        items: [{ productId: 'after-fuzz', quantity: 1, price: '2.00' }],
      }),
    });
    const keys = new Set(sent.map((s) => s.key));
    await until(
      () =>
        Promise.resolve(
          tap.deadLettered.filter((d) => keys.has(d.key)).length >= sent.length ? true : undefined,
        ),
      90_000,
      () =>
        `only ${String(tap.deadLettered.filter((d) => keys.has(d.key)).length)} of ${String(sent.length)} bad messages reached the DLQ`,
    ).catch(() => undefined);
    const confirmed = await until(
      async () => {
        const found = await query<{ n: string }>(
          system.databases['notification-service'] ?? '',
          `SELECT count(*)::text AS n FROM notifications WHERE user_id = $1 AND event_type = 'order.created.v1'`,
          [userId],
        );
        return Number(found[0]?.n) === 1 ? true : undefined;
      },
      60_000,
      () => 'the order placed after the bad messages was not notified',
    ).catch(() => false);
    const dead = tap.deadLettered.filter((d) => keys.has(d.key));
    const missing = sent
      .filter((s) => !dead.some((d) => d.key === s.key))
      .map((s) => `${s.topic}: ${s.what}`);
    const notInvalid = dead.filter((d) => d.reason !== 'invalid');
    // The huge ones are refused for their size, before anyone parses them.
    const hugeKeys = new Set(sent.filter((s) => s.what.startsWith('huge')).map((s) => s.key));
    const hugeRefused = dead.filter((d) => hugeKeys.has(d.key) && d.error.startsWith('too-large'));
    judge(
      {
        scenario: 'Kafka bad messages',
        injected: `${String(sent.length)} messages on orders and users: ${bad(TOPICS.orders)
          .map((b) => b.what)
          .join(', ')}`,
        counted: `dead-lettered ${String(dead.length)}/${String(sent.length)}${missing.length === 0 ? '' : ` (missing: ${missing.join('; ')})`}; reasons ${[...new Set(dead.map((d) => d.reason))].join(', ')}; order placed afterwards: ${String(order.status)}, notified ${String(confirmed)}`,
      },
      [
        {
          what: 'every bad message on the DLQ, as invalid',
          ok: missing.length === 0 && notInvalid.length === 0,
        },
        { what: 'huge ones refused for their size', ok: hugeRefused.length === hugeKeys.size },
        { what: 'consumption continues', ok: order.status === 201 && confirmed === true },
        { what: 'services stay ready', ok: await allReady() },
      ],
    );
  });
});
