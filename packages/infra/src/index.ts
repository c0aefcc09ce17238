export { InfraError, describeError } from './errors.js';
export { DEFAULT_PORTS, describeInfra, startInfra } from './start.js';
export type {
  InfraPorts,
  InfraSource,
  RunningInfra,
  ServerInfo,
  StartInfraOptions,
} from './start.js';
export { acquireSharedInfra, stopSharedInfra } from './shared.js';
export type { SharedInfra } from './shared.js';
export { checkJava, ensureKafkaJars } from './native-kafka.js';
export { IMAGES } from './containers.js';
