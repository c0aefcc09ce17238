/**
 * The one error vocabulary every service speaks: gRPC status names. Pure (no
 * I/O and no transport), so a domain model can throw it directly;
 * packages/service-kit maps it to a problem document over HTTP and to a
 * status over gRPC, one place each.
 */
export type Code =
  | 'INVALID_ARGUMENT'
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'FAILED_PRECONDITION'
  | 'ABORTED'
  | 'RESOURCE_EXHAUSTED'
  | 'UNAVAILABLE'
  | 'DEADLINE_EXCEEDED'
  | 'UNAUTHENTICATED'
  | 'PERMISSION_DENIED'
  | 'INTERNAL';

/** A field-level detail of an {@link AppError}, such as which input was wrong. */
export interface FieldViolation {
  readonly field: string;
  readonly message: string;
}

/** An error a caller may see: a code, a message that says what was wrong, optional details. */
export class AppError extends Error {
  override readonly name = 'AppError';
  constructor(
    readonly code: Code,
    message: string,
    readonly violations: readonly FieldViolation[] = [],
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
