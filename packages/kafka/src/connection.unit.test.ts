import { afterEach, describe, expect, it, vi } from 'vitest';
import { kafkaConnectionFromEnv, mskIamToken } from './connection.js';

describe('kafkaConnectionFromEnv', () => {
  it('reads the plain local form: brokers only, no TLS, no SASL', () => {
    expect(kafkaConnectionFromEnv({ KAFKA_BROKERS: '127.0.0.1:9092' })).toEqual({
      brokers: ['127.0.0.1:9092'],
      client: 'kafkajs',
      ssl: false,
    });
  });

  it('reads what the MSK Serverless addon and the CDK app give a task', () => {
    const connection = kafkaConnectionFromEnv({
      KAFKA_BROKERS: 'boot-abc.c2.kafka-serverless.eu-west-1.amazonaws.com:9098',
      KAFKA_SASL_MECHANISM: 'aws-msk-iam',
      AWS_REGION: 'eu-west-1',
    });
    expect(connection).toEqual({
      brokers: ['boot-abc.c2.kafka-serverless.eu-west-1.amazonaws.com:9098'],
      client: 'kafkajs',
      ssl: true,
      sasl: { mechanism: 'aws-msk-iam', region: 'eu-west-1' },
    });
  });

  it('takes SCRAM credentials and lets KAFKA_SSL turn TLS off explicitly', () => {
    expect(
      kafkaConnectionFromEnv({
        KAFKA_BROKERS: 'kafka:9093',
        KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
        KAFKA_SASL_USERNAME: 'orders',
        KAFKA_SASL_PASSWORD: 's3cret',
        KAFKA_SSL: 'false',
      }),
    ).toEqual({
      brokers: ['kafka:9093'],
      client: 'kafkajs',
      ssl: false,
      sasl: { mechanism: 'scram-sha-512', username: 'orders', password: 's3cret' },
    });
  });

  it.each([
    [
      { KAFKA_BROKERS: 'k:9092', KAFKA_SASL_MECHANISM: 'kerberos' },
      /KAFKA_SASL_MECHANISM must be one of aws-msk-iam, plain/,
    ],
    [{ KAFKA_BROKERS: 'k:9092', KAFKA_SASL_MECHANISM: 'aws-msk-iam' }, /needs AWS_REGION/],
    [
      { KAFKA_BROKERS: 'k:9092', KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'u' },
      /needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD/,
    ],
    [{ KAFKA_BROKERS: 'k:9092', KAFKA_SSL: 'yes' }, /KAFKA_SSL must be true or false, got 'yes'/],
    [
      { KAFKA_BROKERS: 'k:9092', KAFKA_CLIENT: 'node-rdkafka' },
      /KAFKA_CLIENT must be one of kafkajs, platformatic \(or unset for kafkajs\), got 'node-rdkafka'/,
    ],
    [{ KAFKA_BROKERS: 'k' }, /KAFKA_BROKERS must be a comma-separated list of host:port/],
  ])('rejects %j with a message naming the variable', (env, message) => {
    expect(() => kafkaConnectionFromEnv(env)).toThrow(message);
  });

  it.each([
    [undefined, 'kafkajs'],
    ['  ', 'kafkajs'],
    ['kafkajs', 'kafkajs'],
    ['platformatic', 'platformatic'],
    [' Platformatic ', 'platformatic'],
  ])('reads KAFKA_CLIENT=%j as the %s driver', (value, client) => {
    expect(kafkaConnectionFromEnv({ KAFKA_BROKERS: 'k:9092', KAFKA_CLIENT: value }).client).toBe(
      client,
    );
  });

  it('never echoes the password in an error', () => {
    let message = '';
    try {
      kafkaConnectionFromEnv({
        KAFKA_BROKERS: 'k:9092',
        KAFKA_SASL_MECHANISM: 'scram-sha-256',
        KAFKA_SASL_PASSWORD: 'do-not-print-me',
      });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/needs KAFKA_SASL_USERNAME/);
    expect(message).not.toContain('do-not-print-me');
  });
});

describe('mskIamToken', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('signs a kafka-cluster:Connect request with the credentials of the environment', async () => {
    // Static credentials: the default chain reads them without any network call.
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIAEXAMPLEKEY123456');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'example-secret-key-not-real');
    vi.stubEnv('AWS_SESSION_TOKEN', '');
    vi.stubEnv('AWS_PROFILE', '');
    const before = Date.now();
    const token = await mskIamToken('eu-west-1');

    const url = new URL(Buffer.from(token.value, 'base64url').toString('utf8'));
    expect(url.hostname).toBe('kafka.eu-west-1.amazonaws.com');
    expect(url.searchParams.get('Action')).toBe('kafka-cluster:Connect');
    expect(url.searchParams.get('X-Amz-Algorithm')).toBe('AWS4-HMAC-SHA256');
    expect(url.searchParams.get('X-Amz-Credential')).toMatch(
      /^AKIAEXAMPLEKEY123456\/\d{8}\/eu-west-1\/kafka-cluster\/aws4_request$/,
    );
    expect(url.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
    expect(token.value).not.toContain('example-secret-key-not-real');
    expect(token.expiresAt).toBeGreaterThan(before);
  });
});
