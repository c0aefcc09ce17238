import type { IncomingMessage, ServerResponse } from 'node:http';

/** What the SDK half hands to the light half: the `/metrics` handler once Prometheus is on. */
type Handler = (request: IncomingMessage, response: ServerResponse) => void;

let handler: Handler | undefined;

export const metricsHandler = (): Handler | undefined => handler;

export function setMetricsHandler(next: Handler | undefined): void {
  handler = next;
}
