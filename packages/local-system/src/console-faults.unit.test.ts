import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openFaultControl } from './console-faults.js';
import type { FaultControl, FaultTargetName } from './console-faults.js';

describe('the console fault control', () => {
  let control: FaultControl;
  const calls: string[] = [];
  const call = (path: string, method = 'POST', token = control.env['CONSOLE_FAULTS_TOKEN']) =>
    fetch(`${control.env['CONSOLE_FAULTS_URL'] ?? ''}${path}`, {
      method,
      headers: { authorization: `Bearer ${token ?? ''}` },
    }).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, unknown> }));

  beforeAll(async () => {
    control = await openFaultControl();
    control.attach({
      stop: (name: FaultTargetName) => {
        calls.push(`stop ${name}`);
        return Promise.resolve();
      },
      start: (name: FaultTargetName) => {
        calls.push(`start ${name}`);
        return Promise.resolve();
      },
      refusal: (name) => (name === 'kafka' ? 'Kafka came from a container' : undefined),
    });
  });
  afterAll(() => control.close());

  it('listens on loopback only and refuses a caller without the token', async () => {
    expect(control.env['CONSOLE_FAULTS_URL']).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await call('/services', 'GET', 'wrong')).status).toBe(401);
  });

  it('stops and starts notification-service, once each however often asked, and says what runs', async () => {
    expect((await call('/services/notification-service/stop')).body).toEqual({
      service: 'notification-service',
      running: false,
    });
    await call('/services/notification-service/stop');
    expect((await call('/services', 'GET')).body['services']).toContainEqual({
      service: 'notification-service',
      running: false,
    });
    expect((await call('/services/notification-service/start')).body).toMatchObject({
      running: true,
    });
    expect(calls).toEqual(['stop notification-service', 'start notification-service']);
  });

  it('refuses to stop what the system cannot (Kafka it did not launch) with 409 and the reason', async () => {
    const refused = await call('/services/kafka/stop');
    expect(refused).toEqual({ status: 409, body: { detail: 'Kafka came from a container' } });
    expect(calls).not.toContain('stop kafka');
    expect((await call('/services/kafka', 'GET')).body).toEqual({
      service: 'kafka',
      running: true,
      refusal: 'Kafka came from a container',
    });
  });

  it('answers 404 naming the targets for anything else', async () => {
    const unknown = await call('/services/postgres/stop');
    expect(unknown.status).toBe(404);
    expect(unknown.body['detail']).toContain('user-service, notification-service, kafka');
    expect((await call('/services/user-service', 'POST')).status).toBe(404);
  });
});
