import { status as GrpcStatus } from '@grpc/grpc-js';
import { AppError } from '@comms/contracts';
import type { Code, FieldViolation } from '@comms/contracts';
import { isDatabaseUnavailable } from '@comms/postgres';

/**
 * The services' error vocabulary (AppError, in packages/contracts) at the
 * edges: {@link toAppError} normalises anything caught; {@link toProblem} and
 * {@link toGrpcError} map it to the two transports, one place each.
 */
export { AppError };
export type { Code, FieldViolation } from '@comms/contracts';

/**
 * Normalises anything thrown. An AppError passes through; a database that
 * cannot be reached becomes UNAVAILABLE (a 503 the caller may retry);
 * anything else becomes INTERNAL with a generic message, so no internals
 * (SQL, stack traces) reach a caller. The original stays as `cause` for
 * the logs.
 */
export function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  if (isDatabaseUnavailable(error))
    return new AppError('UNAVAILABLE', 'the database is unavailable; try again shortly', [], {
      cause: error,
    });
  return new AppError('INTERNAL', 'internal error', [], { cause: error });
}

const HTTP_STATUS: Record<Code, number> = {
  INVALID_ARGUMENT: 400,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  ABORTED: 409,
  FAILED_PRECONDITION: 422,
  RESOURCE_EXHAUSTED: 429,
  INTERNAL: 500,
  UNAVAILABLE: 503,
  DEADLINE_EXCEEDED: 504,
};

const TITLES: Record<Code, string> = {
  INVALID_ARGUMENT: 'Invalid request',
  UNAUTHENTICATED: 'Unauthenticated',
  PERMISSION_DENIED: 'Forbidden',
  NOT_FOUND: 'Not found',
  ALREADY_EXISTS: 'Already exists',
  ABORTED: 'Conflict',
  FAILED_PRECONDITION: 'Not allowed in the current state',
  RESOURCE_EXHAUSTED: 'Too many requests',
  INTERNAL: 'Internal error',
  UNAVAILABLE: 'Service unavailable',
  DEADLINE_EXCEEDED: 'Timed out',
};

/** The HTTP status for a code. */
export function httpStatusOf(code: Code): number {
  return HTTP_STATUS[code];
}

/** An RFC 9457 problem document. */
export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly code: Code;
  readonly instance?: string;
  readonly errors?: readonly FieldViolation[];
}

/** Maps an error to the problem document a REST caller receives. */
export function toProblem(error: AppError, instance?: string): Problem {
  return {
    type: `https://comms.example/problems/${error.code.toLowerCase().replace(/_/g, '-')}`,
    title: TITLES[error.code],
    status: HTTP_STATUS[error.code],
    detail: error.message,
    code: error.code,
    ...(instance === undefined ? {} : { instance }),
    ...(error.violations.length === 0 ? {} : { errors: error.violations }),
  };
}

/** The gRPC status number for a code. */
export function grpcStatusOf(code: Code): GrpcStatus {
  return GrpcStatus[code];
}

/** The error object a @grpc/grpc-js handler passes to its callback. */
export function toGrpcError(error: AppError): {
  code: GrpcStatus;
  details: string;
  message: string;
} {
  const details =
    error.violations.length === 0
      ? error.message
      : `${error.message}: ${error.violations.map((v) => `${v.field} ${v.message}`).join('; ')}`;
  return { code: grpcStatusOf(error.code), details, message: details };
}
