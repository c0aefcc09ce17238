import { isServiceName, overrideVariable, portOf, SERVICE_NAMES, SERVICES } from './services.js';
import type { Protocol, ServiceName } from './services.js';

/**
 * How addresses are formed:
 * - `local`: everything on 127.0.0.1 (npm start, tests);
 * - `compose`: docker compose service names;
 * - `service-connect`: Copilot/ECS Service Connect names (the default when
 *   Copilot's variables are present);
 * - `service-discovery`: Cloud Map DNS, `<service>.${COPILOT_SERVICE_DISCOVERY_ENDPOINT}`;
 * - `service-discovery-legacy`: the form of Copilot before v1.9, `<service>.<app>.local`.
 */
export type EndpointsMode =
  'local' | 'compose' | 'service-connect' | 'service-discovery' | 'service-discovery-legacy';

export const ENDPOINTS_MODES: readonly EndpointsMode[] = [
  'local',
  'compose',
  'service-connect',
  'service-discovery',
  'service-discovery-legacy',
];

/**
 * The environment the resolver reads. Callers pass the one their config
 * module read, so the resolver itself never reaches for the process's.
 */
export type Env = Readonly<Record<string, string | undefined>>;

/** Raised at startup for a configuration that cannot resolve. */
export class EndpointConfigError extends Error {
  override readonly name = 'EndpointConfigError';
}

/** Resolves `(service, protocol)` to an address; created once at startup. */
export interface Resolver {
  readonly mode: EndpointsMode;
  /** Why this mode was chosen, for the startup log. */
  readonly reason: string;
  /**
   * The one address of a service. HTTP: a base URL without trailing slash
   * (`http://user-service:8081`). gRPC: a `host:port` target for
   * @grpc/grpc-js (`user-service-grpc:50051`). Throws when the override
   * lists several: a caller that takes one address would silently use one
   * instance of several, so it says so instead (callers that spread load
   * use {@link Resolver.resolveAll}).
   */
  resolve(service: string, protocol: Protocol): string;
  /**
   * Every address of a service, in the order given: one in every mode, and
   * several when the override variable lists them separated by commas
   * (`USER_SERVICE_GRPC_ADDR=127.0.0.1:50051,127.0.0.1:50151`). The caller
   * holds the set and spreads its calls over it, as the Service Connect
   * proxy beside each task holds the set of the service's tasks.
   */
  resolveAll(service: string, protocol: Protocol): readonly string[];
}

function readMode(env: Env): { mode: EndpointsMode; reason: string } {
  const explicit = env['ENDPOINTS_MODE']?.trim();
  if (explicit !== undefined && explicit !== '') {
    if (!(ENDPOINTS_MODES as readonly string[]).includes(explicit)) {
      throw new EndpointConfigError(
        `ENDPOINTS_MODE must be one of ${ENDPOINTS_MODES.join(', ')}; got '${explicit}'`,
      );
    }
    return { mode: explicit as EndpointsMode, reason: 'ENDPOINTS_MODE' };
  }
  if ((env['COPILOT_ENVIRONMENT_NAME'] ?? '') !== '') {
    return {
      mode: 'service-connect',
      reason: 'COPILOT_ENVIRONMENT_NAME is set (running on Copilot)',
    };
  }
  return { mode: 'local', reason: 'default' };
}

const DNS_LABELS =
  /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

function requireDnsName(env: Env, variable: string, mode: EndpointsMode, example: string): string {
  const value = env[variable]?.trim() ?? '';
  if (value === '') {
    throw new EndpointConfigError(
      `${variable} must be set in ${mode} mode (a DNS name such as '${example}'); it is empty`,
    );
  }
  if (!DNS_LABELS.test(value)) {
    throw new EndpointConfigError(
      `${variable} must be a DNS name such as '${example}'; got '${value}'`,
    );
  }
  return value;
}

function checkHttpOverride(variable: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new EndpointConfigError(
      `${variable} must be an http(s) URL such as 'http://host:8081'; got '${value}'`,
    );
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') {
    throw new EndpointConfigError(
      `${variable} must be an http(s) URL such as 'http://host:8081'; got '${value}'`,
    );
  }
  if (url.search !== '' || url.hash !== '') {
    throw new EndpointConfigError(`${variable} must not carry a query or fragment; got '${value}'`);
  }
  return value.replace(/\/+$/, '');
}

function checkGrpcOverride(variable: string, value: string): string {
  const match = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(value);
  const port = Number(match?.[2]);
  if (match === null || port < 1 || port > 65535) {
    throw new EndpointConfigError(`${variable} must be host:port, got '${value}'`);
  }
  return value;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}:\d+$/;
const IPV6 = /^\[[0-9a-fA-F:]+\]:\d+$/;

/**
 * Splits an override into its addresses (`a,b,c`) and checks each. Several
 * gRPC addresses must all be IPv4 or all IPv6 literals: grpc-js balances
 * over a fixed list only through its `ipv4:` and `ipv6:` targets (a name
 * that resolves to several addresses is one entry, `dns:`).
 */
function parseOverride(variable: string, protocol: Protocol, value: string): string[] {
  const entries = value.split(',').map((entry) => entry.trim());
  const example =
    protocol === 'http'
      ? 'http://10.0.0.5:8081,http://10.0.0.6:8081'
      : '10.0.0.5:50051,10.0.0.6:50051';
  const empty = entries.findIndex((entry) => entry === '');
  if (empty >= 0) {
    throw new EndpointConfigError(
      `${variable} has an empty address at position ${String(empty + 1)}; expected one address or a comma-separated list such as '${example}', got '${value}'`,
    );
  }
  const addresses = entries.map((entry) =>
    protocol === 'http' ? checkHttpOverride(variable, entry) : checkGrpcOverride(variable, entry),
  );
  const twice = addresses.find((address, i) => addresses.indexOf(address) !== i);
  if (twice !== undefined) {
    throw new EndpointConfigError(`${variable} lists '${twice}' twice; each instance once`);
  }
  if (
    protocol === 'grpc' &&
    addresses.length > 1 &&
    !addresses.every((a) => IPV4.test(a)) &&
    !addresses.every((a) => IPV6.test(a))
  ) {
    throw new EndpointConfigError(
      `${variable} lists several addresses, so each must be an IPv4 address (or each an IPv6 one) with its port, as grpc-js balances over a list only of those; got '${value}'`,
    );
  }
  return addresses;
}

/**
 * Builds the resolver from the environment and checks everything it will
 * need, so misconfiguration fails at startup with the variable's name and
 * the expected format, not on the first call.
 *
 * Precedence: an override variable (`USER_SERVICE_HTTP_URL`,
 * `USER_SERVICE_GRPC_ADDR`, ...) wins; otherwise the mode forms the address.
 */
export function createResolver(env: Env): Resolver {
  const { mode, reason } = readMode(env);

  let suffix = '';
  if (mode === 'service-discovery') {
    suffix = requireDnsName(env, 'COPILOT_SERVICE_DISCOVERY_ENDPOINT', mode, 'test.kudos.local');
  } else if (mode === 'service-discovery-legacy') {
    suffix = `${requireDnsName(env, 'COPILOT_APPLICATION_NAME', mode, 'kudos')}.local`;
  }

  const overrides = new Map<string, string[]>();
  for (const service of SERVICE_NAMES) {
    for (const protocol of ['http', 'grpc'] as const) {
      const variable = overrideVariable(service, protocol);
      const value = env[variable]?.trim();
      if (value === undefined || value === '') continue;
      if (SERVICES[service][protocol] === undefined) {
        throw new EndpointConfigError(
          `${variable} is set, but ${service} has no ${protocol} endpoint`,
        );
      }
      overrides.set(`${service}/${protocol}`, parseOverride(variable, protocol, value));
    }
  }

  const host = (service: ServiceName, protocol: Protocol): string => {
    switch (mode) {
      case 'local':
        return '127.0.0.1';
      case 'compose':
        return service;
      case 'service-connect':
        return SERVICES[service].serviceConnect[protocol] ?? service;
      case 'service-discovery':
      case 'service-discovery-legacy':
        return `${service}.${suffix}`;
      default: {
        const unreachable: never = mode;
        throw new EndpointConfigError(`unknown mode ${String(unreachable)}`);
      }
    }
  };

  const resolveAll = (service: string, protocol: Protocol): string[] => {
    if (!isServiceName(service)) {
      throw new EndpointConfigError(
        `unknown service '${service}'; known services: ${SERVICE_NAMES.join(', ')}`,
      );
    }
    if (protocol !== 'http' && protocol !== 'grpc') {
      throw new EndpointConfigError(
        `unknown protocol '${String(protocol)}'; expected http or grpc`,
      );
    }
    const override = overrides.get(`${service}/${protocol}`);
    if (override !== undefined) return [...override];
    if (SERVICES[service][protocol] === undefined) {
      throw new EndpointConfigError(`${service} has no ${protocol} endpoint`);
    }
    const address = `${host(service, protocol)}:${portOf(service, protocol)}`;
    return [protocol === 'http' ? `http://${address}` : address];
  };

  return {
    mode,
    reason,
    resolveAll,
    resolve(service, protocol) {
      const all = resolveAll(service, protocol);
      if (all.length > 1) {
        const variable = overrideVariable(service as ServiceName, protocol);
        throw new EndpointConfigError(
          `${variable} lists ${String(all.length)} addresses, but this caller reaches ${service} at one address; give it one`,
        );
      }
      return all[0] ?? '';
    },
  };
}

/**
 * What a process depends on: a service and protocol, and `'several'` when
 * the process spreads its calls over every address of the service.
 */
export type Need = readonly [ServiceName, Protocol] | readonly [ServiceName, Protocol, 'several'];

/**
 * Resolves the endpoints a process depends on, once, at startup. Throws the
 * first configuration problem. Keyed `service/protocol`: `addresses` holds
 * the one address of each need taken singly; `sets` every address of each
 * need (one, or several for a need marked `'several'`).
 */
export function resolveAtStartup(
  needs: ReadonlyArray<Need>,
  env: Env,
): {
  resolver: Resolver;
  addresses: Record<string, string>;
  sets: Record<string, readonly string[]>;
} {
  const resolver = createResolver(env);
  const addresses: Record<string, string> = {};
  const sets: Record<string, readonly string[]> = {};
  for (const [service, protocol, several] of needs) {
    const key = `${service}/${protocol}`;
    if (several === 'several') {
      sets[key] = resolver.resolveAll(service, protocol);
    } else {
      addresses[key] = resolver.resolve(service, protocol);
      sets[key] = [addresses[key]];
    }
  }
  return { resolver, addresses, sets };
}
