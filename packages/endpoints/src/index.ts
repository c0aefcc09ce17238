export { isServiceName, overrideVariable, portOf, SERVICE_NAMES, SERVICES } from './services.js';
export type { Protocol, ServiceName } from './services.js';
export {
  createResolver,
  EndpointConfigError,
  ENDPOINTS_MODES,
  resolveAtStartup,
} from './resolver.js';
export type { EndpointsMode, Env, Resolver } from './resolver.js';
