import { pino } from 'pino';
import type { Logger } from 'pino';

/** The JSON logger every service uses; one line per event, `service` on each. */
export function createLogger(service: string, level = 'info'): Logger {
  return pino({ level, base: { service }, timestamp: pino.stdTimeFunctions.isoTime });
}
export type { Logger };
