import { credentials, Metadata, status } from '@grpc/grpc-js';
import type { CalleeCredential } from '@comms/auth';
import type { ServiceError } from '@grpc/grpc-js';
import { UserServiceClient } from '@comms/contracts/grpc';
import { createRoundRobin, grpcChannelTarget } from '@comms/endpoints';
import type { ValidateUserResponse } from '@comms/contracts/grpc';
import { createPool } from '@comms/postgres';
import { AppError, createCircuitBreaker, grpcClientInterceptors, retry } from '@comms/service-kit';
import type { BreakerState, Logger } from '@comms/service-kit';

/**
 * Three ways to ask "may this user order?", the synchronous side of the
 * example. Each one is wrapped the same way: a deadline per attempt, bounded
 * retries with exponential backoff and jitter (the question is a read, so
 * repeating it is safe), and a circuit breaker so that a user-service that
 * is down costs callers nothing but a fast 503.
 */
export type ValidationMode = 'grpc' | 'rest' | 'shared-db';

export interface UserCheck {
  readonly valid: boolean;
  readonly userName: string;
  readonly errorMessage: string;
}

export interface UserValidator {
  readonly mode: ValidationMode;
  validate(userId: string): Promise<UserCheck>;
  breakerState(): BreakerState;
  close(): Promise<void>;
}

export interface ValidatorOptions {
  readonly mode: ValidationMode;
  /**
   * `host:port` of user-service's gRPC (mode grpc): one, or one per
   * instance, balanced round robin by the channel.
   */
  readonly grpcAddresses?: readonly string[];
  /**
   * Base URLs of user-service's REST API (mode rest): one, or one per
   * instance, taken in turn, so a retry goes to the next instance.
   */
  readonly httpUrls?: readonly string[];
  /** Read-only URL of user-service's database (mode shared-db). */
  readonly usersDatabaseUrl?: string;
  /** Deadline of one attempt. Default 300 ms. */
  readonly timeoutMs?: number;
  /** Attempts per validation, first included. Default 3. */
  readonly attempts?: number;
  readonly breakerOpenMs?: number;
  readonly logger?: Logger;
  /**
   * order-service's own access token for user-service (service identity),
   * sent with every gRPC and REST call; `refused` is told when user-service
   * turned it down, so the next call gets a fresh one. Default: none.
   */
  readonly credential?: CalleeCredential;
}

/** A failure to reach user-service (as opposed to an answer about the user). */
class Unreachable extends Error {}

function unavailable(mode: ValidationMode, error: unknown): AppError {
  if (error instanceof AppError) return error;
  return new AppError(
    'UNAVAILABLE',
    `user-service is unavailable (validation over ${mode}): ${(error as Error).message}`,
    [],
    {
      cause: error,
    },
  );
}

export function createUserValidator(options: ValidatorOptions): UserValidator {
  const timeoutMs = options.timeoutMs ?? 300;
  const attempts = options.attempts ?? 3;
  const { credential } = options;
  const breaker = createCircuitBreaker({
    name: `user-service (validation over ${options.mode})`,
    failureThreshold: 5,
    openMs: options.breakerOpenMs ?? 3_000,
    onStateChange: (state) =>
      options.logger?.warn(
        { breaker: state, mode: options.mode },
        `user validation circuit ${state}`,
      ),
  });

  let ask: (userId: string) => Promise<UserCheck>;
  let close: () => Promise<void> = () => Promise.resolve();

  switch (options.mode) {
    case 'grpc': {
      // Several instances: one ipv4: target with the round_robin policy, so
      // the channel holds a connection to each and leaves out the ones that
      // are down. The interceptors give each call a client span and carry
      // the trace in its metadata.
      const { target, options: balancing } = grpcChannelTarget(options.grpcAddresses ?? []);
      const client = new UserServiceClient(target, credentials.createInsecure(), {
        ...balancing,
        interceptors: grpcClientInterceptors(),
        // grpc-js backs off reconnecting up to 120 s; a user-service that
        // was away for a while would stay unreached long after it is back.
        // One internal neighbour: try again at least once a second.
        'grpc.initial_reconnect_backoff_ms': 200,
        'grpc.max_reconnect_backoff_ms': 1_000,
      });
      ask = async (userId) => {
        const metadata = new Metadata();
        if (credential !== undefined)
          metadata.set('authorization', `Bearer ${await credential.token()}`);
        return new Promise<UserCheck>((resolve, reject) => {
          client.validateUser(
            { userId },
            metadata,
            { deadline: Date.now() + timeoutMs },
            (error: ServiceError | null, response: ValidateUserResponse) => {
              if (error === null) resolve(response);
              else if (error.code === status.INVALID_ARGUMENT)
                reject(new AppError('INVALID_ARGUMENT', error.details));
              else {
                if (error.code === status.UNAUTHENTICATED) credential?.refused();
                reject(new Unreachable(`${status[error.code]}: ${error.details}`));
              }
            },
          );
        });
      };
      close = () => {
        client.close();
        return Promise.resolve();
      };
      break;
    }
    case 'rest': {
      const nextBase = createRoundRobin(options.httpUrls ?? []);
      ask = async (userId) => {
        let response: Response;
        try {
          // The token first: the call's deadline is for user-service alone.
          const headers =
            credential === undefined
              ? undefined
              : { authorization: `Bearer ${await credential.token()}` };
          response = await fetch(`${nextBase()}/users/${encodeURIComponent(userId)}`, {
            ...(headers === undefined ? {} : { headers }),
            signal: AbortSignal.timeout(timeoutMs),
          });
        } catch (error) {
          if (error instanceof AppError) throw error;
          throw new Unreachable((error as Error).message);
        }
        if (response.status === 401) credential?.refused();
        if (response.status === 404)
          return { valid: false, userName: '', errorMessage: `user ${userId} not found` };
        if (response.status === 400)
          throw new AppError('INVALID_ARGUMENT', `userId must be a UUID, got '${userId}'`);
        if (!response.ok) throw new Unreachable(`GET /users/:id answered ${response.status}`);
        const user = (await response.json()) as { name: string; status: string };
        return user.status === 'active'
          ? { valid: true, userName: user.name, errorMessage: '' }
          : { valid: false, userName: '', errorMessage: `user ${userId} is inactive` };
      };
      break;
    }
    case 'shared-db': {
      // The shared-database style: read user-service's data directly, through
      // a read-only role that sees one view. Fast, but it couples this service
      // to the other's schema and ties their deployments together.
      const pool = createPool({
        url: options.usersDatabaseUrl ?? '',
        applicationName: 'order-service-user-check',
        max: 5,
        connectionTimeoutMillis: timeoutMs,
        queryTimeoutMillis: timeoutMs,
        onError: (error) =>
          options.logger?.warn({ err: error }, 'users database connection failed'),
      });
      ask = async (userId) => {
        let rows: { name: string; status: string }[];
        try {
          const result = await pool.query<{ name: string; status: string }>(
            'SELECT name, status FROM user_directory WHERE id = $1',
            [userId],
          );
          rows = result.rows;
        } catch (error) {
          throw new Unreachable((error as Error).message);
        }
        const user = rows[0];
        if (user === undefined)
          return { valid: false, userName: '', errorMessage: `user ${userId} not found` };
        return user.status === 'active'
          ? { valid: true, userName: user.name, errorMessage: '' }
          : { valid: false, userName: '', errorMessage: `user ${userId} is inactive` };
      };
      close = () => pool.end();
      break;
    }
    default: {
      const unknown: never = options.mode;
      throw new Error(`unknown validation mode ${String(unknown)}`);
    }
  }

  return {
    mode: options.mode,
    breakerState: breaker.state,
    async validate(userId) {
      try {
        return await breaker.run(
          () =>
            retry(() => ask(userId), {
              attempts,
              baseDelayMs: 50,
              retryable: (e) => e instanceof Unreachable,
            }),
          (e) => e instanceof Unreachable,
        );
      } catch (error) {
        throw unavailable(options.mode, error);
      }
    },
    close: () => close(),
  };
}
