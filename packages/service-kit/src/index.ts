export {
  AppError,
  grpcStatusOf,
  httpStatusOf,
  toAppError,
  toGrpcError,
  toProblem,
} from './errors.js';
export type { Code, FieldViolation, Problem } from './errors.js';
export {
  bearerAuthEnv,
  bearerAuthOf,
  grpcPortEnv,
  operatorRoleEnv,
  outboxEnv,
  parseEnv,
  serviceEnv,
  serviceIdentityEnv,
  serviceIdentityOf,
} from './config.js';
export type { AuthProfile, BearerAuth, ServiceIdentity } from './config.js';
export { BEARER_SECURITY, createHttpApp, ProblemSchema } from './http.js';
export type {
  BearerAuthOptions,
  HttpApp,
  HttpAppOptions,
  PrincipalAccess,
  Readiness,
  ReadinessChecks,
} from './http.js';
export { startService } from './bootstrap.js';
export { databaseAdapter, outboxPublishing, telemetryAdapter } from './adapters.js';
export type { OutboxPublishing } from './adapters.js';
export type { Adapter, ServiceDeclaration, ServiceHandle } from './bootstrap.js';
export { createGrpcServer, GRPC_MAX_MESSAGE_BYTES, grpcClientInterceptors, unary } from './grpc.js';
export type { GrpcServer } from './grpc.js';
export { createLogger } from './logger.js';
export type { Logger } from './logger.js';
export { createCircuitBreaker, retry } from './resilience.js';
export type { BreakerOptions, BreakerState, CircuitBreaker } from './resilience.js';
