export { InfraError, describeError } from './errors.js';
export { createDataDir, DEFAULT_PORTS, describeInfra, startInfra } from './start.js';
export type {
  InfraPorts,
  InfraSource,
  RunningInfra,
  ServerInfo,
  StartInfraOptions,
} from './start.js';
export { acquireSharedInfra, stopSharedInfra } from './shared.js';
export type { SharedInfra } from './shared.js';
export { checkJava, ensureKafkaJars, startNativeKafka } from './native-kafka.js';
export type { NativeKafka } from './native-kafka.js';
export { findFreePort, run as runCommand } from './process-util.js';
export { describeExit, launch, quoteLines } from './launcher.js';
export type { HealthOptions, LaunchedProcess, LaunchOptions, ProcessExit } from './launcher.js';
export type { ServerControl } from './process-util.js';
export { IMAGES } from './containers.js';
export { provisionServiceDatabases, SERVICE_DATABASES } from './databases.js';
