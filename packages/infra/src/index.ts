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
export { tokenIssuerEnv } from './config.js';
export type { TokenIssuerEnv } from './config.js';
export { createTokenIssuer } from './token-issuer.js';
export type { TokenIssuer, TokenIssuerOptions } from './token-issuer.js';
export { startTokenIssuer } from './token-issuer-process.js';
export type { RunningTokenIssuer, StartTokenIssuerOptions } from './token-issuer-process.js';
export { signInAsUser, tokenForClient } from '@comms/identity';
export type { ClientTokenOptions, SignInOptions, UserToken } from '@comms/identity';
export {
  OPERATOR_ROLE,
  RESOURCE_SCOPES,
  RESOURCES,
  SERVICE_CLIENTS,
  USER_CLIENT,
} from '@comms/identity';
export type { ResourceName, ServiceClient } from '@comms/identity';
