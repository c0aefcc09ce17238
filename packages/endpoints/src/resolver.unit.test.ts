import { describe, expect, it } from 'vitest';
import { createResolver, resolveAtStartup } from './resolver.js';
import type { Env } from './resolver.js';
import type { Protocol, ServiceName } from './services.js';

// Variables as Copilot injects them into a task of app "kudos", env "test"
// (COPILOT_SERVICE_DISCOVERY_ENDPOINT is "<env>.<app>.local").
const copilot: Env = {
  COPILOT_APPLICATION_NAME: 'kudos',
  COPILOT_ENVIRONMENT_NAME: 'test',
  COPILOT_SERVICE_NAME: 'order-service',
  COPILOT_SERVICE_DISCOVERY_ENDPOINT: 'test.kudos.local',
};

type Row = [string, Env, ServiceName, Protocol, string];

const rows: Row[] = [
  // local: the default
  ['local', {}, 'user-service', 'http', 'http://127.0.0.1:8081'],
  ['local', {}, 'user-service', 'grpc', '127.0.0.1:50051'],
  ['local', {}, 'order-service', 'http', 'http://127.0.0.1:8082'],
  ['local', {}, 'order-service', 'grpc', '127.0.0.1:50052'],
  ['local', {}, 'notification-service', 'http', 'http://127.0.0.1:8083'],
  // compose: service names on the compose network
  ['compose', { ENDPOINTS_MODE: 'compose' }, 'user-service', 'http', 'http://user-service:8081'],
  ['compose', { ENDPOINTS_MODE: 'compose' }, 'user-service', 'grpc', 'user-service:50051'],
  [
    'compose',
    { ENDPOINTS_MODE: 'compose' },
    'notification-service',
    'http',
    'http://notification-service:8083',
  ],
  // Service Connect: chosen by Copilot's variables; the alias port is the container port
  ['service-connect', copilot, 'user-service', 'http', 'http://user-service:8081'],
  ['service-connect', copilot, 'user-service', 'grpc', 'user-service-grpc:50051'],
  ['service-connect', copilot, 'order-service', 'http', 'http://order-service:8082'],
  ['service-connect', copilot, 'notification-service', 'http', 'http://notification-service:8083'],
  // Service Discovery (Cloud Map): <service>.<env>.<app>.local
  [
    'service-discovery',
    { ...copilot, ENDPOINTS_MODE: 'service-discovery' },
    'user-service',
    'http',
    'http://user-service.test.kudos.local:8081',
  ],
  [
    'service-discovery',
    { ...copilot, ENDPOINTS_MODE: 'service-discovery' },
    'user-service',
    'grpc',
    'user-service.test.kudos.local:50051',
  ],
  // Copilot before v1.9: <service>.<app>.local
  [
    'service-discovery-legacy',
    { COPILOT_APPLICATION_NAME: 'kudos', ENDPOINTS_MODE: 'service-discovery-legacy' },
    'user-service',
    'http',
    'http://user-service.kudos.local:8081',
  ],
  // overrides win over every mode
  [
    'local',
    { USER_SERVICE_HTTP_URL: 'http://10.0.0.5:9000/' },
    'user-service',
    'http',
    'http://10.0.0.5:9000',
  ],
  [
    'service-connect',
    { ...copilot, USER_SERVICE_GRPC_ADDR: 'users.internal:443' },
    'user-service',
    'grpc',
    'users.internal:443',
  ],
  [
    'compose',
    { ENDPOINTS_MODE: 'compose', ORDER_SERVICE_HTTP_URL: 'https://orders.example.com' },
    'order-service',
    'http',
    'https://orders.example.com',
  ],
  // an override of one address leaves the others to the mode
  [
    'compose',
    { ENDPOINTS_MODE: 'compose', USER_SERVICE_HTTP_URL: 'http://x:1' },
    'user-service',
    'grpc',
    'user-service:50051',
  ],
];

describe('resolve (service, protocol) in every mode', () => {
  it.each(rows)('%s: %j %s/%s -> %s', (mode, env, service, protocol, expected) => {
    const resolver = createResolver(env);
    expect(resolver.mode).toBe(mode);
    expect(resolver.resolve(service, protocol)).toBe(expected);
  });

  it('lets ENDPOINTS_MODE win over the Copilot detection', () => {
    expect(createResolver({ ...copilot, ENDPOINTS_MODE: 'local' }).mode).toBe('local');
  });
});

describe('several instances of a service', () => {
  it.each<[string, Env, Protocol, string[]]>([
    [
      'an HTTP list, trimmed, trailing slashes dropped',
      { USER_SERVICE_HTTP_URL: ' http://127.0.0.1:8081/ , http://127.0.0.1:8181' },
      'http',
      ['http://127.0.0.1:8081', 'http://127.0.0.1:8181'],
    ],
    [
      'a gRPC list of IPv4 addresses',
      { USER_SERVICE_GRPC_ADDR: '127.0.0.1:50051,127.0.0.1:50151,127.0.0.1:50251' },
      'grpc',
      ['127.0.0.1:50051', '127.0.0.1:50151', '127.0.0.1:50251'],
    ],
    [
      'a gRPC list of IPv6 addresses',
      { USER_SERVICE_GRPC_ADDR: '[::1]:50051,[::1]:50151' },
      'grpc',
      ['[::1]:50051', '[::1]:50151'],
    ],
    ['one address in any mode', { ENDPOINTS_MODE: 'compose' }, 'grpc', ['user-service:50051']],
    ['a single gRPC name', { USER_SERVICE_GRPC_ADDR: 'users:50051' }, 'grpc', ['users:50051']],
  ])('%s', (_label, env, protocol, expected) => {
    expect(createResolver(env).resolveAll('user-service', protocol)).toEqual(expected);
  });

  it('gives every address to a need marked several, and one to the others', () => {
    const { addresses, sets } = resolveAtStartup(
      [
        ['user-service', 'grpc', 'several'],
        ['order-service', 'http'],
      ],
      { USER_SERVICE_GRPC_ADDR: '127.0.0.1:50051,127.0.0.1:50151' },
    );
    expect(sets).toEqual({
      'user-service/grpc': ['127.0.0.1:50051', '127.0.0.1:50151'],
      'order-service/http': ['http://127.0.0.1:8082'],
    });
    expect(addresses).toEqual({ 'order-service/http': 'http://127.0.0.1:8082' });
  });
});

describe('misconfiguration fails at startup, naming the variable and the format', () => {
  it.each<[string, Env, RegExp]>([
    [
      'unknown mode',
      { ENDPOINTS_MODE: 'k8s' },
      /ENDPOINTS_MODE must be one of local, compose, service-connect, service-discovery, service-discovery-legacy; got 'k8s'/,
    ],
    [
      'service discovery without its endpoint',
      { ENDPOINTS_MODE: 'service-discovery' },
      /COPILOT_SERVICE_DISCOVERY_ENDPOINT must be set in service-discovery mode \(a DNS name such as 'test.kudos.local'\)/,
    ],
    [
      'a malformed discovery endpoint',
      { ENDPOINTS_MODE: 'service-discovery', COPILOT_SERVICE_DISCOVERY_ENDPOINT: 'http://x' },
      /COPILOT_SERVICE_DISCOVERY_ENDPOINT must be a DNS name/,
    ],
    [
      'legacy discovery without the app',
      { ENDPOINTS_MODE: 'service-discovery-legacy' },
      /COPILOT_APPLICATION_NAME must be set/,
    ],
    [
      'a gRPC override with a scheme',
      { USER_SERVICE_GRPC_ADDR: 'http://x' },
      /USER_SERVICE_GRPC_ADDR must be host:port, got 'http:\/\/x'/,
    ],
    [
      'a gRPC override without a port',
      { USER_SERVICE_GRPC_ADDR: 'users' },
      /USER_SERVICE_GRPC_ADDR must be host:port/,
    ],
    [
      'an HTTP override that is not a URL',
      { USER_SERVICE_HTTP_URL: 'user-service:8081' },
      /USER_SERVICE_HTTP_URL must be an http\(s\) URL such as 'http:\/\/host:8081'/,
    ],
    [
      'an HTTP override with another scheme',
      { ORDER_SERVICE_HTTP_URL: 'grpc://x:1' },
      /ORDER_SERVICE_HTTP_URL must be an http\(s\) URL/,
    ],
    [
      'an override of a port the service lacks',
      { NOTIFICATION_SERVICE_GRPC_ADDR: 'x:1' },
      /NOTIFICATION_SERVICE_GRPC_ADDR is set, but notification-service has no grpc endpoint/,
    ],
  ])('%s', (_label, env, message) => {
    expect(() => createResolver(env)).toThrow(message);
  });

  it('rejects an unknown service with the list of known ones', () => {
    expect(() => createResolver({}).resolve('payment-service', 'http')).toThrow(
      "unknown service 'payment-service'; known services: user-service, order-service, notification-service",
    );
  });

  it('rejects a protocol the service does not speak', () => {
    expect(() => createResolver({}).resolve('notification-service', 'grpc')).toThrow(
      'notification-service has no grpc endpoint',
    );
  });

  it.each<[string, Env, RegExp]>([
    [
      'an empty entry in a list',
      { USER_SERVICE_HTTP_URL: 'http://127.0.0.1:8081,,http://127.0.0.1:8181' },
      /USER_SERVICE_HTTP_URL has an empty address at position 2; expected one address or a comma-separated list such as 'http:\/\/10.0.0.5:8081,http:\/\/10.0.0.6:8081'/,
    ],
    [
      'a trailing comma',
      { USER_SERVICE_GRPC_ADDR: '127.0.0.1:50051,' },
      /USER_SERVICE_GRPC_ADDR has an empty address at position 2/,
    ],
    [
      'one bad entry among good ones',
      { USER_SERVICE_GRPC_ADDR: '127.0.0.1:50051,127.0.0.1' },
      /USER_SERVICE_GRPC_ADDR must be host:port, got '127.0.0.1'/,
    ],
    [
      'an entry that is not a URL',
      { USER_SERVICE_HTTP_URL: 'http://127.0.0.1:8081,127.0.0.1:8181' },
      /USER_SERVICE_HTTP_URL must be an http\(s\) URL such as 'http:\/\/host:8081'; got '127.0.0.1:8181'/,
    ],
    [
      'the same instance twice',
      { USER_SERVICE_HTTP_URL: 'http://127.0.0.1:8081,http://127.0.0.1:8081/' },
      /USER_SERVICE_HTTP_URL lists 'http:\/\/127.0.0.1:8081' twice/,
    ],
    [
      'several gRPC names (grpc-js balances a list of IP addresses only)',
      { USER_SERVICE_GRPC_ADDR: 'users-a:50051,users-b:50051' },
      /USER_SERVICE_GRPC_ADDR lists several addresses, so each must be an IPv4 address \(or each an IPv6 one\)/,
    ],
    [
      'IPv4 and IPv6 mixed',
      { USER_SERVICE_GRPC_ADDR: '127.0.0.1:50051,[::1]:50151' },
      /USER_SERVICE_GRPC_ADDR lists several addresses/,
    ],
  ])('a list of addresses: %s', (_label, env, message) => {
    expect(() => createResolver(env)).toThrow(message);
  });

  it('refuses to hand one address to a caller when several are configured', () => {
    const env = { USER_SERVICE_GRPC_ADDR: '127.0.0.1:50051,127.0.0.1:50151' };
    const resolver = createResolver(env);
    expect(() => resolver.resolve('user-service', 'grpc')).toThrow(
      'USER_SERVICE_GRPC_ADDR lists 2 addresses, but this caller reaches user-service at one address; give it one',
    );
    expect(() => resolveAtStartup([['user-service', 'grpc']], env)).toThrow(/lists 2 addresses/);
  });

  it('resolves what a process needs once, at startup', () => {
    const { addresses } = resolveAtStartup(
      [
        ['user-service', 'grpc'],
        ['user-service', 'http'],
      ],
      { ENDPOINTS_MODE: 'compose' },
    );
    expect(addresses).toEqual({
      'user-service/grpc': 'user-service:50051',
      'user-service/http': 'http://user-service:8081',
    });
    expect(() => resolveAtStartup([['notification-service', 'grpc']], {})).toThrow(
      /no grpc endpoint/,
    );
  });
});
