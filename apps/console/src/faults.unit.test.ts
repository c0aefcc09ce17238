import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAULT_TARGETS as CONTROL_TARGETS, openFaultControl } from '@comms/local-system';
import type { FaultControl } from '@comms/local-system';
import { createHttpApp, createLogger } from '@comms/service-kit';
import type { HttpApp } from '@comms/service-kit';
import { loadConfig } from './config.js';
import { FAULT_TARGETS, parseOutboxBacklog, registerFaults } from './faults.js';

const faultsApp = async (env: Record<string, string>): Promise<HttpApp> => {
  const app = await createHttpApp({
    title: 'console',
    logger: createLogger('console', 'silent'),
    readiness: {},
  });
  registerFaults(app, loadConfig(env));
  return app;
};

describe('the outbox backlog, from order-service’s Prometheus page', () => {
  it('sums the backlog gauge over its series and takes the oldest age', () => {
    const page = [
      '# HELP comms_outbox_backlog Outbox rows not yet published.',
      '# TYPE comms_outbox_backlog gauge',
      'comms_outbox_backlog{topic="orders"} 7',
      'comms_outbox_backlog{topic="users"} 2',
      'comms_outbox_backlogs_total 100',
      'comms_outbox_oldest_age_seconds{topic="orders"} 3.5',
      'comms_outbox_oldest_age_seconds{topic="users"} 1',
    ].join('\n');
    expect(parseOutboxBacklog(page)).toEqual({ rows: 9, oldestAgeSeconds: 3.5 });
    expect(parseOutboxBacklog('comms_circuit_breaker_state{state="open"} 1')).toBeUndefined();
  });
});

describe('fault actions', () => {
  it('offers exactly what npm start’s fault control can stop and start', () => {
    expect(FAULT_TARGETS).toEqual(CONTROL_TARGETS);
  });

  it('refuses every target outside npm start, saying so, and rejects an unknown one', async () => {
    const app = await faultsApp({});
    for (const target of ['user-service', 'notification-service', 'kafka']) {
      const refused = await app.inject({ method: 'POST', url: `/api/faults/${target}/stop` });
      expect(refused.statusCode).toBe(403);
      expect(refused.json<{ detail: string }>().detail).toContain('npm start');
    }
    expect(
      (await app.inject({ method: 'POST', url: '/api/faults/postgres/stop' })).statusCode,
    ).toBe(400);
    expect((await app.inject({ method: 'GET', url: '/api/faults' })).json()).toMatchObject({
      available: false,
    });
    await app.close();
  });

  describe('under npm start', () => {
    let control: FaultControl;
    let app: HttpApp;
    const acted: string[] = [];
    beforeAll(async () => {
      control = await openFaultControl();
      control.attach({
        stop: (name) => {
          acted.push(`stop ${name}`);
          return Promise.resolve();
        },
        start: (name) => {
          acted.push(`start ${name}`);
          return Promise.resolve();
        },
        refusal: (name) => (name === 'kafka' ? 'Kafka came from a container' : undefined),
      });
      app = await faultsApp({ ...control.env });
    });
    afterAll(async () => {
      await app.close();
      await control.close();
    });

    it('pauses notification-service and shows it stopped, then resumes it', async () => {
      const stopped = await app.inject({
        method: 'POST',
        url: '/api/faults/notification-service/stop',
      });
      expect(stopped.json()).toEqual({ service: 'notification-service', running: false });
      const panel = await app.inject({ method: 'GET', url: '/api/faults' });
      expect(panel.json()).toMatchObject({ available: true });
      expect(panel.json<{ services: unknown[] }>().services).toContainEqual({
        service: 'notification-service',
        running: false,
      });
      await app.inject({ method: 'POST', url: '/api/faults/notification-service/start' });
      expect(acted).toEqual(['stop notification-service', 'start notification-service']);
    });

    it('passes on why Kafka cannot be stopped, as a 422 problem', async () => {
      const refused = await app.inject({ method: 'POST', url: '/api/faults/kafka/stop' });
      expect(refused.statusCode).toBe(422);
      expect(refused.json<{ detail: string }>().detail).toBe(
        'stop kafka was refused: Kafka came from a container',
      );
    });
  });
});
