import { destination as pinoDestination, pino } from 'pino';
import { logTraceFields } from '@comms/telemetry';
import type { Logger } from 'pino';

/**
 * The JSON logger every service uses; one line per event, `service` on each,
 * and `trace_id`/`span_id` on each line written inside a trace, so one id
 * finds a request's lines in every service.
 *
 * Lines go to stdout asynchronously: while one write is in flight, the lines
 * that follow gather and leave in the next write. Under load that is one
 * system call for many lines instead of one each (a synchronous write per
 * line was the largest single cost in a CPU profile of user-service under
 * load). An idle service still writes each line at once, and whatever is
 * pending is written synchronously when the process exits, so no line is
 * lost on exit or on a crash that exits; only SIGKILL can lose the line in flight.
 */
export function createLogger(
  service: string,
  level = 'info',
  destination: number | string = 1,
): Logger {
  return pino(
    {
      level,
      base: { service },
      timestamp: pino.stdTimeFunctions.isoTime,
      mixin: logTraceFields,
      // Errors of some drivers carry their whole client object; log what helps, never connection internals.
      serializers: { err: serializeError },
    },
    pinoDestination({ dest: destination, sync: false }),
  );
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
