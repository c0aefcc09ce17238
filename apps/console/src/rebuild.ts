import Type from 'typebox';
import type { HttpApp } from '@comms/service-kit';
import type { Config } from './config.js';
import { callRest } from './upstream.js';

/**
 * The event-stream panel's "Rebuild read model": order-service's
 * `POST /orders/:id/rebuild` over REST, its answer (the row before and after,
 * and the fields that differed) passed on as it came.
 */
export function registerRebuild(app: HttpApp, config: Config): void {
  app.post(
    '/api/orders/:id/rebuild',
    {
      schema: {
        summary: "Rebuild an order's read-model row from its events and show the diff (REST)",
        params: Type.Object({ id: Type.String({ format: 'uuid' }) }),
      },
    },
    async (request, reply) => {
      const answer = await callRest(
        'order-service',
        `${config.orderServiceHttp}/orders/${request.params.id}/rebuild`,
        { method: 'POST', timeoutMs: config.UPSTREAM_TIMEOUT_MS },
      );
      return reply
        .status(answer.status)
        .type(answer.headers.get('content-type') ?? 'application/json')
        .send(answer.body);
    },
  );
}
