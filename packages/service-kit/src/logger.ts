import { pino } from 'pino';
import type { Logger } from 'pino';

/** The JSON logger every service uses; one line per event, `service` on each. */
export function createLogger(service: string, level = 'info'): Logger {
  return pino({
    level,
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    // Errors of some drivers carry their whole client object; log what helps, never connection internals.
    serializers: { err: serializeError },
  });
}

function serializeError(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { message: String(error) };
  const { code } = error as { code?: unknown };
  return {
    type: error.name,
    message: error.message,
    ...(code === undefined ? {} : { code }),
    stack: error.stack,
    ...(error.cause === undefined ? {} : { cause: serializeError(error.cause) }),
  };
}
export type { Logger };
