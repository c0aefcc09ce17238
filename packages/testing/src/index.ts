export { createTestDatabase, testInfra, uniqueName, waitFor } from './infra.js';
export { describeExit, launch } from '@comms/infra';
export type { LaunchedProcess, LaunchOptions } from '@comms/infra';
export type { TestDatabase, WaitForOptions } from './infra.js';
export { watchEvents } from './events.js';
export type { PublishedEvent, WatchedEvents } from './events.js';
export { startServiceProcess } from './process.js';
export type { ServiceProcess } from './process.js';
export { listGrpcServices } from './grpc.js';
export { readSpans, waitForSpans } from './spans.js';
export type { SpanRecord } from './spans.js';
export {
  buf,
  ghz,
  GHZ_MODULE,
  GHZ_VERSION,
  grpcurl,
  GRPCURL_MODULE,
  GRPCURL_VERSION,
  oasdiff,
  OASDIFF_MODULE,
  OASDIFF_VERSION,
  openApiBreakingChanges,
} from './tools.js';
export type { OpenApiBreaking } from './tools.js';
export {
  asLoneSurrogate,
  callWithBytes,
  camelPath,
  describeGrpcTextInputs,
  describeRestTextInputs,
  encodeUrlText,
  grpcTextInputs,
  methodOf,
  openApiDocument,
  restRequest,
  restTextInputs,
  stringFields,
  SURROGATE_MARKER,
  UNSTORABLE_TEXT,
  withValueAt,
} from './text-inputs.js';
export type { FieldPath, InjectableApp, RestRequestParts, RestTextInput } from './text-inputs.js';
export { describeOpenApiContract, openApiPaths } from './openapi-contract.js';
export { startUserServiceProcess } from './user-service.js';
export type { TestUserService, TestUserServiceOptions } from './user-service.js';
