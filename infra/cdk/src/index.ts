export { createApp, FEATURE_FLAGS, findRepoRoot, stackNames, synthTemplates } from './app.js';
export type { CommsApp, CreateAppOptions } from './app.js';
export {
  DEFAULT_NAMESPACE,
  ENVIRONMENT_NAMES,
  NOTIFICATION_MAX_TASKS,
  SCALING_TARGETS,
  settingsFromContext,
  SIZING,
} from './config.js';
export type { EnvironmentName, Settings, Sizing, TaskRange } from './config.js';
export {
  DATABASE_ENGINE_VERSION,
  POSTGRES_PORT,
  SERVICE_DATABASES,
  ServiceDatabase,
} from './database.js';
export type { ServiceDatabaseProps } from './database.js';
export {
  API_RESOURCE_SERVERS,
  Identity,
  MACHINE_CLIENTS,
  OPERATOR_GROUP,
  requiredScopeOf,
  USER_APP_CLIENT,
} from './identity.js';
export type { IdentityProps, MachineClient } from './identity.js';
export { MSK_IAM_PORT, ServerlessKafka } from './kafka.js';
export type { ServerlessKafkaProps } from './kafka.js';
export { PlatformStack } from './platform-stack.js';
export type { PlatformStackProps } from './platform-stack.js';
export { CommsService, DEFAULT_SERVICE_CONNECT_TIMEOUTS, SERVICE_DOCKERFILE } from './service.js';
export type { CommsServiceProps, ServiceConnectTimeouts } from './service.js';
export { SERVICE_CONNECT_TLS_POLICY, ServiceConnectTls } from './service-connect-tls.js';
export { identityOf, ServicesStack } from './services-stack.js';
export type { ServicesStackProps } from './services-stack.js';
