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
   * HTTP: a base URL without trailing slash (`http://user-service:8081`).
   * gRPC: a `host:port` target for @grpc/grpc-js (`user-service-grpc:50051`).
   */
  resolve(service: string, protocol: Protocol): string;
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

  const overrides = new Map<string, string>();
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
      overrides.set(
        `${service}/${protocol}`,
        protocol === 'http'
          ? checkHttpOverride(variable, value)
          : checkGrpcOverride(variable, value),
      );
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

  return {
    mode,
    reason,
    resolve(service, protocol) {
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
      if (override !== undefined) return override;
      if (SERVICES[service][protocol] === undefined) {
        throw new EndpointConfigError(`${service} has no ${protocol} endpoint`);
      }
      const address = `${host(service, protocol)}:${portOf(service, protocol)}`;
      return protocol === 'http' ? `http://${address}` : address;
    },
  };
}

/**
 * Resolves the endpoints a process depends on, once, at startup. Throws the
 * first configuration problem; returns the addresses keyed `service/protocol`.
 */
export function resolveAtStartup(
  needs: ReadonlyArray<readonly [ServiceName, Protocol]>,
  env: Env,
): { resolver: Resolver; addresses: Record<string, string> } {
  const resolver = createResolver(env);
  const addresses: Record<string, string> = {};
  for (const [service, protocol] of needs) {
    addresses[`${service}/${protocol}`] = resolver.resolve(service, protocol);
  }
  return { resolver, addresses };
}
