import Type from 'typebox';
import type { HttpApp } from '@comms/service-kit';
import type { Config } from './config.js';
import { actingLabel } from './credentials.js';
import type { Credentials } from './credentials.js';
import { callRest } from './upstream.js';

/**
 * The event-stream panel's "Rebuild read model": order-service's
 * `POST /orders/:id/rebuild` over REST, its answer (the row before and after,
 * and the fields that differed) passed on as it came. Rebuilding is the
 * operator's: the call carries the operator's token.
 */
export function registerRebuild(app: HttpApp, config: Config, credentials: Credentials): void {
  app.post(
    '/api/orders/:id/rebuild',
    {
      schema: {
        summary: "Rebuild an order's read-model row from its events and show the diff (REST)",
        params: Type.Object({ id: Type.String({ format: 'uuid' }) }),
      },
    },
    async (request, reply) => {
      const answer = await credentials.call({ kind: 'operator' }, (headers) =>
        callRest(
          'order-service',
          `${config.orderServiceHttp}/orders/${request.params.id}/rebuild`,
          {
            method: 'POST',
            headers,
            timeoutMs: config.UPSTREAM_TIMEOUT_MS,
          },
        ),
      );
      if (credentials.issuerUrl !== undefined)
        reply.header('x-acting-as', actingLabel({ kind: 'operator' }));
      return reply
        .status(answer.status)
        .type(answer.headers.get('content-type') ?? 'application/json')
        .send(answer.body);
    },
  );
}
