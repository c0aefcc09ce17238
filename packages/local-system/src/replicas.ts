import { isServiceName, SERVICE_NAMES, SERVICES } from '@comms/endpoints';
import type { ServiceName } from '@comms/endpoints';

/** How many instances of each service to run; a service left out runs once. */
export type Replicas = Readonly<Partial<Record<ServiceName, number>>>;

/** At most this many instances of one service: each costs a Node process on a small machine. */
export const MAX_REPLICAS = 9;

/**
 * Port offset between instances under the default ports: instance n of a
 * service listens on its ARCHITECTURE.md port plus `(n - 1) * 100`
 * (order-service: 8082, 8182, 8282; gRPC 50052, 50152, ...), clear of the
 * other services' ports and of one another up to {@link MAX_REPLICAS}.
 */
export const INSTANCE_PORT_STEP = 100;

/** The ports instance `instance` (from 1) of a service takes under the default ports. */
export function defaultInstancePorts(
  service: ServiceName,
  instance: number,
): { http: number; grpc?: number } {
  const offset = (instance - 1) * INSTANCE_PORT_STEP;
  const { http, grpc } = SERVICES[service];
  return grpc === undefined
    ? { http: http + offset }
    : { http: http + offset, grpc: grpc + offset };
}

const EXAMPLE = 'order-service=2,notification-service=2';

function checkCount(what: string, service: string, count: number, as: string): void {
  if (!Number.isInteger(count) || count < 1 || count > MAX_REPLICAS) {
    throw new Error(
      `${what}: ${service} must run 1 to ${String(MAX_REPLICAS)} instances (a whole number), got '${as}'`,
    );
  }
}

/**
 * Parses `--replicas` (`order-service=2,notification-service=2`). Throws a
 * message naming what was wrong: an unknown service (with the known ones),
 * a count that is not a whole number from 1 to {@link MAX_REPLICAS}, a
 * service named twice, or an entry without `=`.
 */
export function parseReplicas(text: string): Replicas {
  const replicas: Partial<Record<ServiceName, number>> = {};
  const entries = text.split(',').map((entry) => entry.trim());
  if (entries.every((entry) => entry === ''))
    throw new Error(`--replicas needs service=count pairs such as '${EXAMPLE}'; got nothing`);
  for (const entry of entries) {
    const match = /^([^=\s]+)\s*=\s*(\S*)$/.exec(entry);
    if (match === null)
      throw new Error(
        `--replicas takes service=count pairs separated by commas, such as '${EXAMPLE}'; got '${entry}'`,
      );
    const [, service = '', count = ''] = match;
    if (!isServiceName(service))
      throw new Error(
        `--replicas: unknown service '${service}'; known services: ${SERVICE_NAMES.join(', ')}`,
      );
    if (replicas[service] !== undefined) throw new Error(`--replicas names ${service} twice`);
    const value = /^\d+$/.test(count) ? Number(count) : Number.NaN;
    checkCount('--replicas', service, value, count);
    replicas[service] = value;
  }
  return replicas;
}

/** Checks replica counts given in code (startSystem's option); throws like {@link parseReplicas}. */
export function checkReplicas(replicas: Replicas): void {
  for (const [service, count] of Object.entries(replicas)) {
    if (!isServiceName(service))
      throw new Error(
        `replicas: unknown service '${service}'; known services: ${SERVICE_NAMES.join(', ')}`,
      );
    checkCount('replicas', service, count, String(count));
  }
}
