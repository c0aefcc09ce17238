import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';

const base = {
  DATABASE_URL: 'postgres://user_service:pw@127.0.0.1:5432/users',
  KAFKA_BROKERS: '127.0.0.1:9092',
};

describe('user-service configuration', () => {
  it('applies the defaults of the endpoints table', () => {
    expect(loadConfig(base)).toMatchObject({
      HOST: '127.0.0.1',
      PORT: 8081,
      GRPC_PORT: 50051,
      LOG_LEVEL: 'info',
    });
  });

  it('takes the database from an RDS/Aurora secret instead of a URL', () => {
    const secret = JSON.stringify({
      username: 'u',
      password: 'p',
      host: 'aurora.internal',
      port: 5432,
      dbname: 'users',
    });
    const config = loadConfig({ KAFKA_BROKERS: '127.0.0.1:9092', DATABASE_SECRET: secret });
    expect(config.DATABASE_URL).toBe('postgres://u:p@aurora.internal:5432/users');
  });

  it('takes Kafka as MSK Serverless with IAM auth, the form the AWS addon produces', () => {
    const config = loadConfig({
      ...base,
      KAFKA_BROKERS: 'boot-x.c1.kafka-serverless.eu-west-1.amazonaws.com:9098',
      KAFKA_SASL_MECHANISM: 'aws-msk-iam',
      AWS_REGION: 'eu-west-1',
    });
    expect(config.kafka).toEqual({
      brokers: ['boot-x.c1.kafka-serverless.eu-west-1.amazonaws.com:9098'],
      client: 'kafkajs',
      ssl: true,
      sasl: { mechanism: 'aws-msk-iam', region: 'eu-west-1' },
    });
  });

  it.each<[Record<string, string>, RegExp]>([
    [{ KAFKA_BROKERS: '127.0.0.1:9092' }, /DATABASE_URL is required/],
    [{ ...base, DATABASE_URL: 'mysql://x' }, /DATABASE_URL must be a PostgreSQL URL/],
    [
      { ...base, KAFKA_BROKERS: 'kafka' },
      /KAFKA_BROKERS must be a comma-separated list of host:port/,
    ],
    [{ ...base, PORT: 'http' }, /^PORT .*; got 'http'$/],
    [{ ...base, LOG_LEVEL: 'loud' }, /LOG_LEVEL .*one of fatal, error, warn, info/],
  ])('stops at startup naming the variable: %j', (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('checks callers only when AUTH_ISSUER_URL is set: the services that read it, the console and the tools that write too', () => {
    expect(loadConfig(base).auth).toBeUndefined();
    expect(loadConfig({ ...base, AUTH_ISSUER_URL: 'http://127.0.0.1:8084' }).auth).toEqual({
      issuer: 'http://127.0.0.1:8084',
      audience: 'urn:comms:user-service',
      keysCooldownMs: 30_000,
      callers: [
        { clientId: 'order-service', permissions: ['users:read'] },
        { clientId: 'notification-service', permissions: ['users:read'] },
        { clientId: 'console', permissions: ['users:read', 'users:write'] },
        // The repository's own tools (the demo, the bench, the suites) register users.
        { clientId: 'tools', permissions: ['users:read', 'users:write'] },
      ],
    });
    expect(() => loadConfig({ ...base, AUTH_ISSUER_URL: 'x', AUTH_CALLERS: 'a,,b' })).toThrow(
      /^AUTH_ISSUER_URL /,
    );
    expect(() =>
      loadConfig({ ...base, AUTH_ISSUER_URL: 'http://127.0.0.1:8084', AUTH_CALLERS: 'a,,b' }),
    ).toThrow(/^AUTH_CALLERS .*comma-separated client ids/);
  });

  it.each<[string, { clientId: string; permissions: string[] }[]]>([
    ['tools:write+read', [{ clientId: 'tools', permissions: ['users:read', 'users:write'] }]],
    ['a:read,a:write', [{ clientId: 'a', permissions: ['users:read', 'users:write'] }]],
    // A bare id may do both, as every listed caller could before permissions were listed.
    ['legacy', [{ clientId: 'legacy', permissions: ['users:read', 'users:write'] }]],
  ])('reads AUTH_CALLERS=%s as what each caller may do', (callers, expected) => {
    expect(
      loadConfig({ ...base, AUTH_ISSUER_URL: 'http://127.0.0.1:8084', AUTH_CALLERS: callers }).auth
        ?.callers,
    ).toEqual(expected);
  });

  it.each(['console:admin', 'console:', 'console:read+', 'console:read:write'])(
    'stops at startup on AUTH_CALLERS=%s, saying what an entry may grant',
    (callers) => {
      expect(() =>
        loadConfig({ ...base, AUTH_ISSUER_URL: 'http://127.0.0.1:8084', AUTH_CALLERS: callers }),
      ).toThrow(/^AUTH_CALLERS .*id:read, id:write or id:read\+write/);
    },
  );
});
