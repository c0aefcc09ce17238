import type { AddressInfo } from 'node:net';
import type { GrpcServer } from './grpc.js';
import { checkReadiness } from './http.js';
import type { HttpApp, Readiness, ReadinessChecks } from './http.js';
import { onShutdownSignal, runShutdown } from './shutdown.js';
import type { ShutdownStep } from './shutdown.js';

/**
 * One thing a service depends on (a database pool, a Kafka producer, an
 * outbox relay, a consumer): a named start/close pair and, optionally, the
 * check `/readyz` runs for it under its name.
 */
export interface Adapter {
  /** Its name in logs, and its key in `/readyz` when it has a {@link Adapter.ready} check. */
  readonly name: string;
  /** What closing it does, as the shutdown log says: `shutdown: <closing> done`. Default `close <name>`. */
  readonly closing?: string;
  start?(): Promise<void> | void;
  close?(): Promise<void> | void;
  /** Resolves when the dependency answers; rejects saying what is missing. */
  ready?(): Promise<void>;
}

/** What a service declares: its adapters, in start order, and its servers. */
export interface ServiceDeclaration<App extends HttpApp> {
  readonly name: string;
  readonly logger: {
    info(obj: unknown, msg?: string): void;
    error(obj: unknown, msg?: string): void;
  };
  /** The bound on the whole graceful shutdown (SHUTDOWN_TIMEOUT_MS). */
  readonly shutdownTimeoutMs: number;
  /** Started in this order, before the servers; closed in the reverse order, after them. */
  readonly adapters: readonly Adapter[];
  /** The REST server: built once the adapters have started, with their readiness checks. */
  readonly http: {
    readonly host: string;
    readonly port: number;
    build(readiness: ReadinessChecks): Promise<App>;
    readonly closing?: string;
  };
  /** The gRPC server, if the service has one: listening before HTTP, closed after it. */
  readonly grpc?: {
    readonly host: string;
    readonly port: number;
    readonly server: GrpcServer;
    readonly closing?: string;
  };
  /** More fields for the `<name> ready` log line. */
  readonly readyFields?: Readonly<Record<string, unknown>>;
}

/** A started service, for `server.ts` and for tests that run it in-process. */
export interface ServiceHandle<App extends HttpApp = HttpApp> {
  readonly name: string;
  /** The fastify instance, listening; tests may `inject` into it. */
  readonly app: App;
  readonly http: { readonly url: string; readonly port: number };
  readonly grpc: { readonly address: string; readonly port: number } | undefined;
  /** Runs the readiness checks, as `/readyz` does. */
  ready(): Promise<Readiness>;
  /**
   * Stops the servers, then the adapters in reverse start order, within the
   * shutdown bound. Resolves with the exit code a process should use (0 clean,
   * 1 a step failed or the bound passed). Calling it again returns the same promise.
   */
  stop(): Promise<number>;
  /** Stops on the first SIGTERM or SIGINT; resolves with {@link ServiceHandle.stop}'s code. */
  stopOnSignals(): Promise<number>;
}

/**
 * The one bootstrap every service uses. Starts the adapters in declaration
 * order, then gRPC, then HTTP (whose `/readyz` runs the adapters' checks),
 * and returns a handle. If a start fails, what has started is closed again
 * (in reverse) and the error is thrown. Nothing here exits the process.
 */
export async function startService<App extends HttpApp>(
  service: ServiceDeclaration<App>,
): Promise<ServiceHandle<App>> {
  const { logger, shutdownTimeoutMs } = service;
  const log = {
    info: (msg: string) => logger.info({}, msg),
    error: (obj: unknown, msg: string) => logger.error(obj, msg),
  };
  // Closing steps, innermost first: each started piece puts its own in front.
  const steps: ShutdownStep[] = [];
  const closing = (name: string, close: () => Promise<void> | void): ShutdownStep => ({
    name,
    run: async () => {
      await close();
    },
  });

  const readiness: ReadinessChecks = {};
  let app: App | undefined;
  let grpcPort: number | undefined;
  try {
    for (const adapter of service.adapters) {
      await adapter.start?.();
      const close = adapter.close?.bind(adapter);
      if (close !== undefined)
        steps.unshift(closing(adapter.closing ?? `close ${adapter.name}`, close));
    }
    for (const adapter of service.adapters) {
      const ready = adapter.ready?.bind(adapter);
      if (ready !== undefined) readiness[adapter.name] = ready;
    }
    const grpc = service.grpc;
    if (grpc !== undefined) {
      grpcPort = await grpc.server.listen(grpc.host, grpc.port);
      steps.unshift(
        closing(grpc.closing ?? 'stop accepting gRPC, finish in-flight calls', () =>
          grpc.server.close(shutdownTimeoutMs / 2),
        ),
      );
    }
    const built = await service.http.build(readiness);
    app = built;
    steps.unshift(
      closing(service.http.closing ?? 'stop accepting HTTP, finish in-flight requests', () =>
        built.close(),
      ),
    );
    await built.listen({ host: service.http.host, port: service.http.port });
  } catch (error) {
    logger.error({ err: error }, `${service.name} failed to start; closing what started`);
    await runShutdown({ steps, timeoutMs: shutdownTimeoutMs, log });
    throw error;
  }

  const started = app;
  const httpPort = (started.server.address() as AddressInfo).port;
  const urlHost = service.http.host.includes(':') ? `[${service.http.host}]` : service.http.host;
  const grpcHost = service.grpc?.host ?? '';
  logger.info(
    {
      http: httpPort,
      ...(grpcPort === undefined ? {} : { grpc: grpcPort }),
      ...service.readyFields,
    },
    `${service.name} ready`,
  );

  let stopping: Promise<number> | undefined;
  const stop = () => (stopping ??= runShutdown({ steps, timeoutMs: shutdownTimeoutMs, log }));
  return {
    name: service.name,
    app: started,
    http: { url: `http://${urlHost}:${httpPort}`, port: httpPort },
    grpc:
      grpcPort === undefined
        ? undefined
        : {
            address: `${grpcHost.includes(':') ? `[${grpcHost}]` : grpcHost}:${grpcPort}`,
            port: grpcPort,
          },
    ready: () => checkReadiness(readiness),
    stop,
    stopOnSignals: () =>
      new Promise<number>((resolve) => {
        onShutdownSignal((signal) => {
          log.info(`${signal} received, shutting down`);
          resolve(stop());
        });
      }),
  };
}
