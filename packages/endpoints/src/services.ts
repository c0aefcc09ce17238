/**
 * The one table of services and their ports. Every environment uses the same
 * ports; only the host part of an address changes.
 */
export const SERVICES = {
  'user-service': {
    http: 8081,
    grpc: 50051,
    /** Service Connect names (Copilot registers the second port as its own service). */
    serviceConnect: { http: 'user-service', grpc: 'user-service-grpc' },
  },
  'order-service': {
    http: 8082,
    grpc: 50052,
    serviceConnect: { http: 'order-service', grpc: 'order-service-grpc' },
  },
  'notification-service': {
    http: 8083,
    grpc: undefined,
    serviceConnect: { http: 'notification-service', grpc: undefined },
  },
} as const;

/** A service of the system. */
export type ServiceName = keyof typeof SERVICES;

/** How a caller talks to a service. */
export type Protocol = 'http' | 'grpc';

/** Every service name, in table order. */
export const SERVICE_NAMES = Object.keys(SERVICES) as ServiceName[];

/** True when `name` is a service of the table. */
export function isServiceName(name: string): name is ServiceName {
  return Object.hasOwn(SERVICES, name);
}

/**
 * The port a service listens on for a protocol. Throws for a protocol the
 * service does not speak (notification-service has no gRPC port).
 */
export function portOf(service: ServiceName, protocol: Protocol): number {
  const port = SERVICES[service][protocol];
  if (port === undefined) throw new Error(`${service} has no ${protocol} port`);
  return port;
}

/** The environment variable that overrides a service's address for a protocol. */
export function overrideVariable(service: ServiceName, protocol: Protocol): string {
  const prefix = service.toUpperCase().replace(/-/g, '_');
  return protocol === 'http' ? `${prefix}_HTTP_URL` : `${prefix}_GRPC_ADDR`;
}
