import { createLogger, startService } from '@comms/service-kit';
import type { Adapter } from '@comms/service-kit';
import { buildApp } from './app.js';
import type { Config } from './config.js';
import { createSpanFileSource } from './spans.js';
import { createOrderGrpc } from './upstream.js';

/** A service the page cannot work without: ready when its /healthz answers. */
function upstream(name: string, url: string, timeoutMs: number): Adapter {
  return {
    name,
    ready: async () => {
      const response = await fetch(`${url}/healthz`, {
        signal: AbortSignal.timeout(timeoutMs),
      }).catch((error: unknown) => {
        throw new Error(`${name} at ${url} did not answer: ${(error as Error).message}`);
      });
      if (response.status !== 200) throw new Error(`${name} at ${url} answered ${response.status}`);
    },
  };
}

/** Starts the console (the page and its backend) through the service kit, as every service starts. */
export async function startConsole(config: Config) {
  const logger = createLogger('console', config.LOG_LEVEL);
  const grpc = createOrderGrpc(config.orderServiceGrpc);
  const spans =
    config.CONSOLE_SPANS_DIR === undefined
      ? undefined
      : createSpanFileSource(config.CONSOLE_SPANS_DIR);
  return startService({
    name: 'console',
    logger,
    shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
    adapters: [
      {
        name: 'order-service gRPC client',
        closing: 'close the order-service gRPC client',
        close: () => grpc.close(),
      },
      upstream('order-service', config.orderServiceHttp, config.UPSTREAM_TIMEOUT_MS),
      upstream('notification-service', config.notificationServiceHttp, config.UPSTREAM_TIMEOUT_MS),
    ],
    http: {
      host: config.HOST,
      port: config.PORT,
      build: (readiness) => buildApp({ config, grpc, spans, logger, readiness }),
    },
    readyFields: {
      endpoints: config.endpointsMode,
      spans: config.CONSOLE_SPANS_DIR ?? null,
    },
  });
}
