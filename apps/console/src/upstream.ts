import { randomBytes } from 'node:crypto';
import { credentials, Metadata, status as GrpcStatus } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import { OrderServiceClient } from '@comms/contracts/grpc';
import type { CreateOrderResponse } from '@comms/contracts/grpc';
import { AppError, httpStatusOf } from '@comms/service-kit';
import type { Code } from '@comms/service-kit';

/** A W3C traceparent the console starts a trace with, and its trace id. */
export function newTrace(): { traceId: string; traceparent: string } {
  const traceId = randomBytes(16).toString('hex');
  return { traceId, traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` };
}

/** A service's answer, passed on to the page as it came. */
export interface Answer {
  readonly status: number;
  readonly body: unknown;
  readonly headers: Headers;
}

/** Calls a service's REST API; a service that does not answer is an UNAVAILABLE error naming it. */
export async function callRest(
  service: string,
  url: string,
  init: { method?: string; body?: unknown; headers?: Record<string, string>; timeoutMs: number },
): Promise<Answer> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: init.method ?? 'GET',
      headers: {
        accept: 'application/json',
        ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...init.headers,
      },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
      signal: AbortSignal.timeout(init.timeoutMs),
    });
  } catch (error) {
    throw new AppError(
      'UNAVAILABLE',
      `${service} did not answer (${new URL(url).origin}): ${(error as Error).message}`,
    );
  }
  const text = await response.text();
  let body: unknown = text;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    // Not JSON: passed on as text.
  }
  return { status: response.status, body, headers: response.headers };
}

const CODES = new Set<string>([
  'INVALID_ARGUMENT',
  'UNAUTHENTICATED',
  'PERMISSION_DENIED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'ABORTED',
  'FAILED_PRECONDITION',
  'RESOURCE_EXHAUSTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DEADLINE_EXCEEDED',
]);

/** order-service's gRPC API, as a client outside the system calls it. */
export interface OrderGrpc {
  /**
   * Places an order; an error status comes back as the HTTP status and detail
   * the page shows. `headers` go into the metadata as they are (`authorization`).
   */
  createOrder(
    request: { userId: string; items: { productId: string; quantity: number; price: string }[] },
    traceparent: string,
    timeoutMs: number,
    headers?: Readonly<Record<string, string>>,
  ): Promise<
    | { ok: true; response: CreateOrderResponse }
    | { ok: false; status: number; code: string; detail: string }
  >;
  close(): void;
}

/** A gRPC client of order.v1.OrderService at `address` (host:port). */
export function createOrderGrpc(address: string): OrderGrpc {
  const client = new OrderServiceClient(address, credentials.createInsecure());
  return {
    createOrder(request, traceparent, timeoutMs, headers = {}) {
      const metadata = new Metadata();
      metadata.set('traceparent', traceparent);
      for (const [key, value] of Object.entries(headers)) metadata.set(key, value);
      return new Promise((resolve) => {
        client.createOrder(
          { ...request, idempotencyKey: '' },
          metadata,
          { deadline: Date.now() + timeoutMs },
          (error: ServiceError | null, response: CreateOrderResponse) => {
            if (error === null && response.errorMessage === '') {
              resolve({ ok: true, response });
              return;
            }
            const name =
              error === null ? 'FAILED_PRECONDITION' : (GrpcStatus[error.code] ?? 'UNKNOWN');
            resolve({
              ok: false,
              code: name,
              status: CODES.has(name) ? httpStatusOf(name as Code) : 502,
              detail: error === null ? response.errorMessage : error.details,
            });
          },
        );
      });
    },
    close: () => client.close(),
  };
}

/** What order-service's `/metrics` page says about its user check. */
export interface UserCheckState {
  /** grpc, rest or shared-db: the mode in its breaker's name. */
  readonly mode: string | undefined;
  /** closed, open or half-open. */
  readonly breaker: string | undefined;
}

/**
 * Reads the user check's mode and its circuit breaker's state from
 * order-service's Prometheus page: the breaker is named
 * `user-service (validation over <mode>)`, and its state gauge is 1 for
 * the current state.
 */
export function parseUserCheck(metricsPage: string): UserCheckState {
  let mode: string | undefined;
  let breaker: string | undefined;
  for (const line of metricsPage.split('\n')) {
    if (!line.startsWith('comms_circuit_breaker_state{')) continue;
    const found = /validation over ([a-z-]+)\)/.exec(line);
    if (found === null) continue;
    mode = found[1];
    const state = /state="([a-z-]+)"/.exec(line)?.[1];
    if (state !== undefined && Number(line.slice(line.lastIndexOf(' ') + 1)) === 1) breaker = state;
  }
  return { mode, breaker };
}
