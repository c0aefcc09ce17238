import Type from 'typebox';
import { AppError } from '@comms/service-kit';
import type { HttpApp } from '@comms/service-kit';
import type { Config } from './config.js';
import { callRest } from './upstream.js';

/** What the faults panel may stop and start (npm start's fault control names the same). */
export const FAULT_TARGETS = ['user-service', 'notification-service', 'kafka'] as const;

/** order-service's outbox: rows written but not yet published to Kafka. */
export interface OutboxBacklog {
  readonly rows: number;
  /** Age of the oldest unpublished row, in seconds (0 when there is none). */
  readonly oldestAgeSeconds: number;
}

/**
 * Reads the outbox backlog from order-service's Prometheus page: the gauges
 * `comms_outbox_backlog` (summed over its series) and
 * `comms_outbox_oldest_age` (in seconds; the largest). Undefined when the
 * page has no backlog gauge (the relay is not running).
 */
export function parseOutboxBacklog(metricsPage: string): OutboxBacklog | undefined {
  let rows: number | undefined;
  let oldest = 0;
  for (const line of metricsPage.split('\n')) {
    if (line.startsWith('#')) continue;
    const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0];
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (!Number.isFinite(value)) continue;
    if (name === 'comms_outbox_backlog') rows = (rows ?? 0) + value;
    else if (name?.startsWith('comms_outbox_oldest_age') === true) oldest = Math.max(oldest, value);
  }
  return rows === undefined ? undefined : { rows, oldestAgeSeconds: oldest };
}

/**
 * The faults panel, local runs only: npm start gives the console a control
 * endpoint (CONSOLE_FAULTS_URL) that stops and starts user-service,
 * notification-service and Kafka; anywhere else every fault action is
 * refused. Beside it, what the faults show: order-service's outbox backlog.
 */
export function registerFaults(app: HttpApp, config: Config): void {
  const faultsUrl = config.CONSOLE_FAULTS_URL;
  const NO_FAULTS =
    'fault actions are only available when the system runs under npm start (CONSOLE_FAULTS_URL is not set)';
  const control = (path: string, method: 'GET' | 'POST') =>
    callRest('npm start', `${faultsUrl ?? ''}${path}`, {
      method,
      headers: { authorization: `Bearer ${config.CONSOLE_FAULTS_TOKEN ?? ''}` },
      // Stopping waits for a graceful shutdown; starting, for readiness.
      timeoutMs: 60_000,
    });

  app.get('/api/faults', { logLevel: 'warn' }, async () => {
    if (faultsUrl === undefined) return { available: false, reason: NO_FAULTS };
    const answer = await control('/services', 'GET');
    if (answer.status !== 200)
      throw new AppError('UNAVAILABLE', `npm start's fault control answered ${answer.status}`);
    return { available: true, ...(answer.body as object) };
  });

  app.post(
    '/api/faults/:service/:action',
    {
      schema: {
        params: Type.Object({
          service: Type.Union([
            Type.Literal(FAULT_TARGETS[0]),
            Type.Literal(FAULT_TARGETS[1]),
            Type.Literal(FAULT_TARGETS[2]),
          ]),
          action: Type.Union([Type.Literal('stop'), Type.Literal('start')]),
        }),
      },
    },
    async (request, reply) => {
      if (faultsUrl === undefined) throw new AppError('PERMISSION_DENIED', NO_FAULTS);
      const { service, action } = request.params;
      const answer = await control(`/services/${service}/${action}`, 'POST');
      if (answer.status >= 400)
        throw new AppError(
          answer.status === 409 ? 'FAILED_PRECONDITION' : 'UNAVAILABLE',
          `${action} ${service} was refused: ${(answer.body as { detail?: string } | undefined)?.detail ?? String(answer.status)}`,
        );
      return reply.status(200).send(answer.body);
    },
  );

  // What stopping Kafka shows: events kept in order-service's outbox until it is back.
  app.get('/api/outbox', { logLevel: 'warn' }, async () => {
    const answer = await callRest('order-service', `${config.orderServiceHttp}/metrics`, {
      timeoutMs: config.UPSTREAM_TIMEOUT_MS,
    });
    const backlog =
      answer.status === 200 && typeof answer.body === 'string'
        ? parseOutboxBacklog(answer.body)
        : undefined;
    if (backlog === undefined)
      throw new AppError(
        'UNAVAILABLE',
        `order-service's /metrics (${String(answer.status)}) shows no outbox backlog`,
      );
    return backlog;
  });
}
