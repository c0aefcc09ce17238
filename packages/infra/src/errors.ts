/**
 * A problem with the local infrastructure that the user can fix. The message
 * names what is wrong; `hint` says what to do about it.
 */
export class InfraError extends Error {
  override readonly name = 'InfraError';
  constructor(
    message: string,
    readonly hint: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** Message and hint together, ready to print. */
  describe(): string {
    return `${this.message}\n  -> ${this.hint}`;
  }
}

/** Formats any error for a person: an {@link InfraError} with its hint, others by message. */
export function describeError(error: unknown): string {
  if (error instanceof InfraError) return error.describe();
  if (error instanceof Error) return error.message;
  return String(error);
}
