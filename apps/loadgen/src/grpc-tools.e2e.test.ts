import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fromBinary } from '@bufbuild/protobuf';
import { FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import type { DescriptorProto } from '@bufbuild/protobuf/wkt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { descriptorSetBase64 } from '@comms/contracts/grpc';
import { buf, grpcurl, testInfra } from '@comms/testing';
import { startSystem } from '@comms/local-system';
import type { RunningSystem } from '@comms/local-system';

/**
 * The gRPC servers as people first meet them: through stock tools that
 * discover everything by server reflection, with no .proto files. grpcurl
 * (Go, jhump/protoreflect) and `buf curl` (Go, connectrpc's reflection
 * client) share none of this project's code, so what they can describe
 * and call is what grpcui, Postman and Evans users get too.
 */

const exec = promisify(execFile);
let system: RunningSystem;
let grpcurlBin: string;

beforeAll(async () => {
  const { databaseUrl, kafkaBrokers } = testInfra();
  [system, grpcurlBin] = await Promise.all([
    startSystem({
      ports: 'random',
      // Identity on: the services' own methods want a bearer token; reflection and health do not.
      auth: true,
      infraEnv: { DATABASE_URL: databaseUrl, KAFKA_BROKERS: kafkaBrokers },
      env: { RATE_LIMIT_PER_MINUTE: '0' },
    }),
    grpcurl(),
  ]);
}, 600_000);

afterAll(async () => {
  await system?.stop();
});

/**
 * Runs grpcurl in plaintext against `address`, with `token` as the
 * `authorization` header when given; resolves with stdout, rejects with its stderr.
 */
async function grpcurlRun(
  address: string,
  args: string[],
  data?: unknown,
  token?: string,
): Promise<string> {
  const payload = data === undefined ? [] : ['-d', JSON.stringify(data)];
  const header = token === undefined ? [] : ['-H', `authorization: Bearer ${token}`];
  try {
    const { stdout } = await exec(
      grpcurlBin,
      ['-plaintext', ...header, ...payload, address, ...args],
      { timeout: 20_000 },
    );
    return stdout;
  } catch (error) {
    const { stderr, stdout } = error as { stderr?: string; stdout?: string };
    throw new Error(`grpcurl ${args.join(' ')} failed: ${stderr ?? ''}${stdout ?? ''}`);
  }
}

async function bufCurl(
  address: string,
  method: string,
  data: unknown,
  token?: string,
): Promise<unknown> {
  const { stdout } = await exec(
    buf(),
    [
      'curl',
      '--protocol',
      'grpc',
      '--http2-prior-knowledge',
      '--reflect',
      ...(token === undefined ? [] : ['-H', `authorization: Bearer ${token}`]),
      '-d',
      JSON.stringify(data),
      `http://${address}/${method}`,
    ],
    { timeout: 20_000 },
  );
  return JSON.parse(stdout) as unknown;
}

/** Every message type of the project's proto module, nested ones included, by full name. */
function projectMessages(): string[] {
  const set = fromBinary(FileDescriptorSetSchema, Buffer.from(descriptorSetBase64, 'base64'));
  const names: string[] = [];
  const walk = (prefix: string, message: DescriptorProto) => {
    names.push(`${prefix}${message.name}`);
    for (const nested of message.nestedType) walk(`${prefix}${message.name}.`, nested);
  };
  for (const file of set.file)
    if (!file.name.startsWith('google/'))
      for (const message of file.messageType) walk(`${file.package}.`, message);
  return names;
}

const address = (service: 'user-service' | 'order-service') => system.services[service].grpc ?? '';

describe('grpcurl through server reflection alone', () => {
  it.each([
    ['user-service', 'user.v1.UserService'],
    ['order-service', 'order.v1.OrderService'],
  ] as const)('lists what %s serves', async (service, name) => {
    const listed = (await grpcurlRun(address(service), ['list'])).trim().split('\n').sort();
    expect(listed).toEqual(
      [
        'grpc.health.v1.Health',
        'grpc.reflection.v1.ServerReflection',
        'grpc.reflection.v1alpha.ServerReflection',
        name,
      ].sort(),
    );
  });

  it.each(['user-service', 'order-service'] as const)(
    'describes every service %s lists, with every method',
    async (service) => {
      const listed = (await grpcurlRun(address(service), ['list'])).trim().split('\n');
      for (const name of listed) {
        const text = await grpcurlRun(address(service), ['describe', name]);
        expect(text).toContain(`${name} is a service:`);
        const methods = (await grpcurlRun(address(service), ['list', name])).trim().split('\n');
        expect(methods.length).toBeGreaterThan(0);
        for (const method of methods)
          expect(await grpcurlRun(address(service), ['describe', method])).toContain(
            `${method} is a method:`,
          );
      }
    },
  );

  it('describes every message of the proto module, and the well-known and health types', async () => {
    const messages = [
      ...projectMessages(),
      'google.protobuf.Timestamp',
      'grpc.health.v1.HealthCheckRequest',
      'grpc.health.v1.HealthCheckResponse',
      // A map field: its implicit entry type must arrive as protoc names it.
      'grpc.health.v1.HealthListResponse',
    ];
    expect(messages).toEqual(expect.arrayContaining(['user.v1.User', 'order.v1.Order']));
    for (const service of ['user-service', 'order-service'] as const)
      for (const message of messages)
        expect(await grpcurlRun(address(service), ['describe', message])).toContain(
          `${message} is a message:`,
        );
    expect(
      await grpcurlRun(address('user-service'), ['describe', 'user.v1.User.created_at']),
    ).toMatch(/google\.protobuf\.Timestamp created_at = 5/);
    expect(
      await grpcurlRun(address('order-service'), ['describe', 'grpc.health.v1.HealthListResponse']),
    ).toMatch(/map<string, \.grpc\.health\.v1\.HealthCheckResponse> statuses = 1/);
  });

  it('calls Health/Check on both servers', async () => {
    for (const service of ['user-service', 'order-service'] as const) {
      const overall = JSON.parse(
        await grpcurlRun(address(service), ['grpc.health.v1.Health/Check']),
      ) as unknown;
      expect(overall).toEqual({ status: 'SERVING' });
    }
    const named = JSON.parse(
      await grpcurlRun(address('order-service'), ['grpc.health.v1.Health/Check'], {
        service: 'order.v1.OrderService',
      }),
    ) as unknown;
    expect(named).toEqual({ status: 'SERVING' });
  });

  it('registers a user, validates it, places an order for it and reads the order back, each with a token; another user is refused', async () => {
    // A back office's own token for user-service; then the user's, from signing in.
    const tools = await system.tokens.service('tools', 'user-service');
    const created = JSON.parse(
      await grpcurlRun(
        address('user-service'),
        ['user.v1.UserService/CreateUser'],
        { name: 'Grace Grpcurl', email: `grace.${Date.now()}@example.com` },
        tools,
      ),
    ) as { user: { id: string; name: string; createdAt: string } };
    expect(created.user.name).toBe('Grace Grpcurl');
    expect(Date.parse(created.user.createdAt)).toBeGreaterThan(0);
    const userId = created.user.id;
    const user = await system.tokens.user(userId);

    const valid = JSON.parse(
      await grpcurlRun(
        address('user-service'),
        ['user.v1.UserService/ValidateUser'],
        { user_id: userId },
        tools,
      ),
    ) as unknown;
    expect(valid).toEqual({ valid: true, userName: 'Grace Grpcurl' });

    const order = JSON.parse(
      await grpcurlRun(
        address('order-service'),
        ['order.v1.OrderService/CreateOrder'],
        { user_id: userId, items: [{ product_id: 'grpcurl-mug', quantity: 2, price: '4.50' }] },
        user,
      ),
    ) as { orderId: string; status: string; userName: string; totalAmount: string };
    expect(order).toMatchObject({
      status: 'ORDER_STATUS_CREATED',
      userName: 'Grace Grpcurl',
      totalAmount: '9.00',
    });

    const read = JSON.parse(
      await grpcurlRun(
        address('order-service'),
        ['order.v1.OrderService/GetOrder'],
        { order_id: order.orderId },
        user,
      ),
    ) as { order: { orderId: string; userId: string; items: unknown[]; createdAt: string } };
    expect(read.order).toMatchObject({ orderId: order.orderId, userId, version: 1 });
    expect(read.order.items).toEqual([{ productId: 'grpcurl-mug', quantity: 2, price: '4.50' }]);

    // Another user's token: refused naming the permission, as an id that names no order is.
    const refusal = async (orderId: string) =>
      (
        await grpcurlRun(
          address('order-service'),
          ['order.v1.OrderService/GetOrder'],
          { order_id: orderId },
          await system.tokens.user('someone-else'),
        ).catch((error: unknown) => (error as Error).message)
      ).replaceAll(orderId, ':id');
    const other = await refusal(order.orderId);
    expect(other).toMatch(/Code: PermissionDenied/);
    expect(other).toMatch(
      /Message: permission 'orders:read' is for the order's owner or the role 'operator'; user 'someone-else' has no order ':id'/,
    );
    expect(other).toBe(await refusal('00000000-0000-4000-8000-000000000000'));
  });

  it('reports errors with their gRPC status codes', async () => {
    const failure = await grpcurlRun(
      address('order-service'),
      ['order.v1.OrderService/GetOrder'],
      { order_id: '00000000-0000-4000-8000-000000000000' },
      await system.tokens.user('operator'),
    ).catch((error: unknown) => (error as Error).message);
    expect(failure).toMatch(/Code: NotFound/);
  });

  it('refuses a call without a token, and a token for another API, with Unauthenticated', async () => {
    const missing = await grpcurlRun(
      address('order-service'),
      ['order.v1.OrderService/CreateOrder'],
      {
        user_id: 'someone',
        items: [{ product_id: 'mug', quantity: 1, price: '1.00' }],
      },
    ).catch((error: unknown) => (error as Error).message);
    expect(missing).toMatch(/Code: Unauthenticated/);
    const asUser = await grpcurlRun(
      address('user-service'),
      ['user.v1.UserService/ValidateUser'],
      { user_id: 'someone' },
      await system.tokens.user('someone'),
    ).catch((error: unknown) => (error as Error).message);
    // An end user's token is for order-service (its audience): user-service refuses it.
    expect(asUser).toMatch(/Code: Unauthenticated/);
  });
});

describe('buf curl through server reflection alone', () => {
  it('calls ValidateUser, CreateOrder and Health/Check', async () => {
    const unknownUser = '00000000-0000-4000-8000-000000000001';
    expect(
      await bufCurl(
        address('user-service'),
        'user.v1.UserService/ValidateUser',
        { userId: unknownUser },
        await system.tokens.service('tools', 'user-service'),
      ),
    ).toMatchObject({ errorMessage: expect.stringMatching(/not found|unknown/i) as unknown });
    expect(
      await bufCurl(
        address('order-service'),
        'order.v1.OrderService/CreateOrder',
        { userId: unknownUser, items: [{ productId: 'buf-cup', quantity: 1, price: '1.00' }] },
        await system.tokens.user(unknownUser),
      ),
    ).toMatchObject({ status: 'ORDER_STATUS_REJECTED' });
    for (const service of ['user-service', 'order-service'] as const)
      expect(await bufCurl(address(service), 'grpc.health.v1.Health/Check', {})).toEqual({
        status: 'SERVING',
      });
  });
});
