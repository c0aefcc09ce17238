import { pino } from 'pino';
import { logTraceFields } from '@comms/telemetry';
import type { Logger } from 'pino';

/**
 * The JSON logger every service uses; one line per event, `service` on each,
 * and `trace_id`/`span_id` on each line written inside a trace, so one id
 * finds a request's lines in every service.
 */
export function createLogger(service: string, level = 'info'): Logger {
  return pino({
    level,
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    mixin: logTraceFields,
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
