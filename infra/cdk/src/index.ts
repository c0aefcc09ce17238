export { createApp, FEATURE_FLAGS, findRepoRoot, STACK_ID, synthTemplates } from './app.js';
export type { CommsApp, CreateAppOptions } from './app.js';
export { DEFAULT_NAMESPACE, ENVIRONMENT_NAMES, settingsFromContext, SIZING } from './config.js';
export type { EnvironmentName, Settings, Sizing } from './config.js';
export { MSK_IAM_PORT, ServerlessKafka } from './kafka.js';
export type { ServerlessKafkaProps } from './kafka.js';
export {
  CommsService,
  DATABASE_ENGINE_VERSION,
  DEFAULT_SERVICE_CONNECT_TIMEOUTS,
  POSTGRES_PORT,
  SERVICE_DOCKERFILE,
} from './service.js';
export type { CommsServiceProps, ServiceConnectTimeouts } from './service.js';
export { CommsStack } from './stack.js';
export type { CommsStackProps } from './stack.js';
