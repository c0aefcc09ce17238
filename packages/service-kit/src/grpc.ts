import { InterceptingCall, Server, ServerCredentials, status as Status } from '@grpc/grpc-js';
import type {
  Interceptor,
  Metadata,
  ServiceDefinition,
  UntypedHandleCall,
  UntypedServiceImplementation,
  status,
} from '@grpc/grpc-js';
import {
  extractTraceContext,
  injectSpan,
  meter,
  SpanKind,
  SpanStatusCode,
  tracer,
  withSpan,
} from '@comms/telemetry';
import type { Histogram, Span } from '@comms/telemetry';
import { HealthImplementation } from 'grpc-health-check';
import { toAppError, toGrpcError } from './errors.js';
import { protoFieldName, unstorableTextError } from './text.js';
import { addReflection, HEALTH_SERVICE } from './reflection.js';

/** Largest gRPC message accepted, in bytes: 1 MiB. Larger ones get RESOURCE_EXHAUSTED. */
export const GRPC_MAX_MESSAGE_BYTES = 1024 * 1024;

/** A gRPC server with health checking and reflection. */
export interface GrpcServer {
  readonly server: Server;
  readonly health: HealthImplementation;
  /** Binds host:port and starts serving; resolves with the bound port. */
  listen(host: string, port: number): Promise<number>;
  /** Stops accepting calls, lets in-flight ones finish, forces after `timeoutMs`. */
  close(timeoutMs: number): Promise<void>;
}

/**
 * Creates a server for the given services, plus `grpc.health.v1.Health`
 * (each service SERVING once listening) and server reflection from the
 * embedded descriptor set, so grpcurl-style tools need no .proto files.
 */
export function createGrpcServer(options: {
  services: ReadonlyArray<{
    name: string;
    definition: ServiceDefinition;
    implementation: UntypedServiceImplementation;
  }>;
  descriptorSetBase64: string;
  /** Gets a line per call served (RPC, status, duration), inside the call's trace. */
  logger?: { info(obj: unknown, msg: string): void };
}): GrpcServer {
  const server = new Server({
    'grpc.max_receive_message_length': GRPC_MAX_MESSAGE_BYTES,
    'grpc.max_send_message_length': GRPC_MAX_MESSAGE_BYTES,
  });
  const duration = meter().createHistogram('rpc.server.call.duration', {
    unit: 's',
    description: 'Duration of gRPC calls served, per RPC and status.',
  });
  for (const service of options.services)
    server.addService(
      tolerantDefinition(service.definition),
      traceService(service, duration, options.logger),
    );
  const health = new HealthImplementation({ '': 'NOT_SERVING' });
  health.addToServer(server);
  // Reflection lists what this server serves, its own services and health,
  // not every service of the shared descriptor set.
  addReflection(server, {
    descriptorSets: [Buffer.from(options.descriptorSetBase64, 'base64')],
    services: [...options.services.map((s) => s.name), HEALTH_SERVICE],
  });

  const setAll = (state: 'SERVING' | 'NOT_SERVING') => {
    health.setStatus('', state);
    for (const service of options.services) health.setStatus(service.name, state);
  };

  return {
    server,
    health,
    listen(host, port) {
      return new Promise((resolve, reject) => {
        server.bindAsync(`${host}:${port}`, ServerCredentials.createInsecure(), (error, bound) => {
          if (error !== null) {
            reject(new Error(`gRPC cannot listen on ${host}:${port}: ${error.message}`));
            return;
          }
          setAll('SERVING');
          resolve(bound);
        });
      });
    },
    close(timeoutMs) {
      setAll('NOT_SERVING');
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, timeoutMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
  };
}

/** A request whose bytes did not decode; answered INVALID_ARGUMENT without running the handler. */
class MalformedRequest {
  constructor(readonly reason: string) {}
}

/**
 * The definition with decoding that never throws. grpc-js answers a
 * request it cannot decode with INTERNAL, which blames the server for the
 * caller's bytes; a {@link MalformedRequest} lets the wrapper answer
 * INVALID_ARGUMENT instead.
 */
function tolerantDefinition(definition: ServiceDefinition): ServiceDefinition {
  return Object.fromEntries(
    Object.entries(definition).map(([key, method]) => [
      key,
      {
        ...method,
        requestDeserialize: (bytes: Buffer): unknown => {
          try {
            return method.requestDeserialize(bytes);
          } catch (error) {
            return new MalformedRequest(error instanceof Error ? error.message : String(error));
          }
        },
      },
    ]),
  );
}

/**
 * Wraps a unary handler (given the request and the call, for its metadata):
 * whatever it throws becomes a gRPC status through
 * {@link toGrpcError}; unexpected errors are logged and sent as INTERNAL
 * without internals.
 */
export function unary<Req, Res>(
  handler: (request: Req, call: { readonly metadata?: Metadata }) => Promise<Res>,
  log: { error(obj: unknown, msg: string): void },
): (
  call: { request: Req; metadata?: Metadata },
  callback: (
    error: { code: status; details: string; message: string } | null,
    response?: Res,
  ) => void,
) => void {
  return (call, callback) => {
    // Text PostgreSQL cannot store is the caller's mistake, in whichever field.
    const refused = unstorableTextError(call.request, { fieldName: protoFieldName });
    if (refused !== undefined) return callback(toGrpcError(refused));
    handler(call.request, call).then(
      (response) => callback(null, response),
      (error: unknown) => {
        const appError = toAppError(error);
        if (appError.code === 'INTERNAL') log.error({ err: error }, 'gRPC call failed');
        callback(toGrpcError(appError));
      },
    );
  };
}

// Status codes that mean the server failed (the others are the caller's problem).
const SERVER_FAULTS = new Set<number>([
  Status.UNKNOWN,
  Status.DEADLINE_EXCEEDED,
  Status.UNIMPLEMENTED,
  Status.INTERNAL,
  Status.UNAVAILABLE,
  Status.DATA_LOSS,
]);

/** `/user.v1.UserService/ValidateUser` -> rpc.service and rpc.method. */
function rpcAttributes(path: string) {
  const [service = '', method = ''] = path.replace(/^\//, '').split('/');
  return { 'rpc.system': 'grpc', 'rpc.service': service, 'rpc.method': method };
}

function endRpcSpan(
  span: Span,
  histogram: Histogram,
  started: number,
  attributes: Record<string, string>,
  code: number,
  details: string | undefined,
  isServer: boolean,
) {
  span.setAttribute('rpc.grpc.status_code', code);
  const failed = isServer ? SERVER_FAULTS.has(code) : code !== (Status.OK as number);
  if (failed)
    span.setStatus({ code: SpanStatusCode.ERROR, message: details ?? Status[code] ?? '' });
  span.end();
  histogram.record((performance.now() - started) / 1000, {
    ...attributes,
    'rpc.grpc.status_code': code,
  });
}

type UnaryCallback = (
  error: { code?: number; details?: string } | null,
  ...rest: unknown[]
) => void;

/**
 * Wraps every unary method of an implementation: a SERVER span that
 * continues the caller's trace from the call metadata, with the handler
 * running inside it (so its database spans and log lines join the trace),
 * and the call's duration recorded per RPC and status.
 */
function traceService(
  service: { definition: ServiceDefinition; implementation: UntypedServiceImplementation },
  histogram: Histogram,
  logger: { info(obj: unknown, msg: string): void } | undefined,
): UntypedServiceImplementation {
  const wrapped: UntypedServiceImplementation = { ...service.implementation };
  for (const [key, method] of Object.entries(service.definition)) {
    const name = key in wrapped ? key : method.originalName;
    const handler = name === undefined ? undefined : wrapped[name];
    if (name === undefined || handler === undefined) continue;
    if (method.requestStream || method.responseStream) continue;
    const attributes = rpcAttributes(method.path);
    const spanName = `${attributes['rpc.service']}/${attributes['rpc.method']}`;
    const unaryHandler = handler as (call: { metadata: Metadata }, callback: UnaryCallback) => void;
    // By the proto convention: user.v1.UserService/GetUser takes user.v1.GetUserRequest.
    const requestType = `${attributes['rpc.service'].replace(/\.[^.]+$/, '')}.${attributes['rpc.method']}Request`;
    wrapped[name] = ((call: { metadata: Metadata; request?: unknown }, callback: UnaryCallback) => {
      const parent = extractTraceContext(call.metadata.getMap());
      const span = tracer().startSpan(spanName, { kind: SpanKind.SERVER, attributes }, parent);
      const started = performance.now();
      const malformed = call.request instanceof MalformedRequest ? call.request : undefined;
      withSpan(span, () => {
        const done: UnaryCallback = (error, ...rest) => {
          const code = error === null ? Status.OK : (error.code ?? Status.UNKNOWN);
          logger?.info(
            {
              rpc: spanName,
              code: Status[code],
              durationMs: Math.round((performance.now() - started) * 10) / 10,
            },
            'gRPC call completed',
          );
          endRpcSpan(span, histogram, started, attributes, code, error?.details, true);
          callback(error, ...rest);
        };
        if (malformed === undefined) unaryHandler(call, done);
        else
          done({
            code: Status.INVALID_ARGUMENT,
            details: `the request is not a valid ${requestType} message: ${malformed.reason}`,
          });
      });
    }) as UntypedHandleCall;
  }
  return wrapped;
}

/**
 * Client interceptors for gRPC stubs (`new XClient(address, credentials,
 * { interceptors: grpcClientInterceptors() })`): each call gets a CLIENT
 * span whose context travels in the call metadata, and its duration is
 * recorded per RPC and status.
 */
export function grpcClientInterceptors(): Interceptor[] {
  const histogram = meter().createHistogram('rpc.client.call.duration', {
    unit: 's',
    description: 'Duration of gRPC calls made, per RPC and status.',
  });
  const interceptor: Interceptor = (options, nextCall) => {
    const attributes = rpcAttributes(options.method_definition.path);
    const span = tracer().startSpan(`${attributes['rpc.service']}/${attributes['rpc.method']}`, {
      kind: SpanKind.CLIENT,
      attributes,
    });
    const started = performance.now();
    return new InterceptingCall(nextCall(options), {
      start(metadata, listener, next) {
        const carrier: Record<string, string> = {};
        injectSpan(carrier, span);
        for (const [header, value] of Object.entries(carrier)) metadata.set(header, value);
        next(metadata, {
          onReceiveStatus(received, nextStatus) {
            endRpcSpan(
              span,
              histogram,
              started,
              attributes,
              received.code,
              received.details,
              false,
            );
            nextStatus(received);
          },
        });
      },
    });
  };
  return [interceptor];
}
