export { isServiceName, overrideVariable, portOf, SERVICE_NAMES, SERVICES } from './services.js';
export type { Protocol, ServiceName } from './services.js';
export {
  createResolver,
  EndpointConfigError,
  ENDPOINTS_MODES,
  resolveAtStartup,
} from './resolver.js';
export type { EndpointsMode, Env, Need, Resolver } from './resolver.js';
export { createRoundRobin, grpcChannelTarget } from './balancing.js';
export type { GrpcChannelTarget } from './balancing.js';
