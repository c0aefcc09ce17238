/**
 * Why the decider refused a command. Pure, so the domain depends on nothing
 * with I/O; the codes are the gRPC status names the whole system speaks, and
 * the edge (orders.ts) turns this into service-kit's AppError, which maps it
 * to HTTP and gRPC.
 */

/** The codes a decision can end with, in the gRPC vocabulary. */
export type DomainCode =
  'INVALID_ARGUMENT' | 'NOT_FOUND' | 'ALREADY_EXISTS' | 'FAILED_PRECONDITION';

/** Which input was wrong and how. */
export interface FieldViolation {
  readonly field: string;
  readonly message: string;
}

/** A command the rules refuse: a code, a message that says what was wrong, and field details. */
export class DomainError extends Error {
  override readonly name = 'DomainError';
  constructor(
    readonly code: DomainCode,
    message: string,
    readonly violations: readonly FieldViolation[] = [],
  ) {
    super(message);
  }
}
