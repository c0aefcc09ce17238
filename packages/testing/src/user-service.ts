import { findFreePort } from '@comms/infra';
import { createTestDatabase, testInfra, uniqueName } from './infra.js';
import type { TestDatabase } from './infra.js';
import { startServiceProcess } from './process.js';
import type { ServiceProcess } from './process.js';

/** A real user-service process for another service's tests, on loopback ports of its own. */
export interface TestUserService {
  /** Its REST base URL, `http://127.0.0.1:<port>`. */
  readonly httpUrl: string;
  /** Its gRPC address, `127.0.0.1:<port>`. */
  readonly grpcAddress: string;
  /** Its database: its own, or the one it was given to share. */
  readonly db: TestDatabase;
  /** The process: stop, restart, output. */
  readonly process: ServiceProcess;
  /**
   * Registers a user through `POST /users` and answers its id and email
   * (a unique one unless given). Fails, with user-service's answer, on
   * anything but 201. `token`: a caller's access token, for a user-service
   * that takes only callers it knows (AUTH_ISSUER_URL set).
   */
  register(
    name: string,
    options?: { readonly email?: string; readonly token?: string },
  ): Promise<{ id: string; email: string }>;
  /** Stops the process, then drops its database unless it was given one to share. */
  stop(): Promise<void>;
}

/** Options for {@link startUserServiceProcess}. */
export interface TestUserServiceOptions {
  /** user-service's entry point: `createRequire(import.meta.url).resolve('@comms/user-service')`. */
  readonly entry: string;
  /** A new database with this name prefix, or a running instance's database to share with it. */
  readonly database: string | TestDatabase;
  /** More environment, e.g. `AUTH_ISSUER_URL` and `AUTH_CALLERS`. */
  readonly env?: Readonly<Record<string, string>>;
}

/**
 * Starts user-service as a real process on the shared test PostgreSQL and
 * Kafka, on two free loopback ports, and waits until it is healthy. The
 * caller passes the entry point because @comms/testing does not depend on
 * the services it tests.
 */
export async function startUserServiceProcess(
  options: TestUserServiceOptions,
): Promise<TestUserService> {
  const { kafkaBrokers, kafkaClient } = testInfra();
  const shared = typeof options.database !== 'string';
  const db =
    typeof options.database === 'string'
      ? await createTestDatabase(options.database)
      : options.database;
  try {
    const [httpPort, grpcPort] = [await findFreePort(), await findFreePort()];
    const httpUrl = `http://127.0.0.1:${String(httpPort)}`;
    const process = await startServiceProcess({
      entry: options.entry,
      env: {
        HOST: '127.0.0.1',
        PORT: String(httpPort),
        GRPC_PORT: String(grpcPort),
        DATABASE_URL: db.url,
        KAFKA_BROKERS: kafkaBrokers,
        KAFKA_CLIENT: kafkaClient,
        LOG_LEVEL: 'warn',
        ...options.env,
      },
      healthUrl: `${httpUrl}/healthz`,
    });
    return {
      httpUrl,
      grpcAddress: `127.0.0.1:${String(grpcPort)}`,
      db,
      process,
      async register(name, { email = `${uniqueName('user')}@example.com`, token } = {}) {
        const response = await fetch(`${httpUrl}/users`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
          },
          body: JSON.stringify({ name, email }),
        });
        const text = await response.text();
        if (response.status !== 201)
          throw new Error(`user-service answered POST /users ${String(response.status)}: ${text}`);
        return { id: (JSON.parse(text) as { id: string }).id, email };
      },
      async stop() {
        await process.stop();
        if (!shared) await db.drop();
      },
    };
  } catch (error) {
    if (!shared) await db.drop().catch(() => undefined);
    throw error;
  }
}
