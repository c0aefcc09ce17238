import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSystem } from '@comms/local-system';
import type { RunningSystem } from '@comms/local-system';
import { testInfra } from '@comms/testing';
import { runDemo } from './demo.js';

/** `npm run demo` against the system as `npm start` runs it (random ports here). */

let system: RunningSystem;

beforeAll(async () => {
  const { databaseUrl, kafkaBrokers } = testInfra();
  system = await startSystem({
    ports: 'random',
    auth: true,
    infraEnv: { DATABASE_URL: databaseUrl, KAFKA_BROKERS: kafkaBrokers },
  });
});

afterAll(async () => {
  await system?.stop();
});

describe('npm run demo', () => {
  it('walks through every style against the running system, each step answering', async () => {
    const s = system.services;
    const lines: string[] = [];
    const steps = await runDemo(
      [],
      {
        PATH: process.env['PATH'],
        AUTH_ISSUER_URL: system.issuer.url,
        USER_SERVICE_HTTP_URL: s['user-service'].http,
        USER_SERVICE_GRPC_ADDR: s['user-service'].grpc,
        ORDER_SERVICE_HTTP_URL: s['order-service'].http,
        ORDER_SERVICE_GRPC_ADDR: s['order-service'].grpc,
        NOTIFICATION_SERVICE_HTTP_URL: s['notification-service'].http,
        USERS_DATABASE_URL: system.databases['shared-db reader'],
        ORDERS_DATABASE_URL: system.databases['order-service'],
      },
      (line) => lines.push(line),
    );
    expect(steps.map((step) => step.title.split(':')[0])).toEqual([
      'Identity',
      'REST',
      'gRPC',
      'Identity',
      'Identity',
      'REST',
      'Identity',
      'gRPC',
      'Kafka',
      'Shared database',
      'Event sourcing',
      'Event sourcing',
      'Event sourcing',
    ]);
    const result = (prefix: string) =>
      steps.find((step) => step.title.startsWith(prefix))?.result ?? '';
    expect(result('Identity: the user signs in')).toMatch(/aud urn:comms:order-service/);
    expect(result('Identity: the same call without a token')).toMatch(
      /^401 .*WWW-Authenticate: Bearer/,
    );
    expect(result('Identity: another user')).toMatch(
      /^403 permission 'orders:read' is for the order's owner or the role 'operator'; user '[^']+' has no order/,
    );
    expect(result('Shared database')).toMatch(/reading the users table is refused/);
    const userId = /"id":"([^"]+)"/.exec(result('REST: register a user'))?.[1] ?? 'none';
    expect(result("Event sourcing: the order's history")).toBe(
      `v1 order.created.v1 by user:${userId}, v2 order.paid.v1 by user:${userId}`,
    );
    expect(lines.join('\n')).toMatch(/\(\d+\.\d ms\)/);
  });
});
