import { Server, ServerCredentials } from '@grpc/grpc-js';
import type { ServiceDefinition, UntypedServiceImplementation, status } from '@grpc/grpc-js';
import { loadFileDescriptorSetFromBuffer, loadSync } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation, protoPath as healthProtoPath } from 'grpc-health-check';
import { AppError, toGrpcError } from './errors.js';

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
}): GrpcServer {
  const server = new Server({
    'grpc.max_receive_message_length': GRPC_MAX_MESSAGE_BYTES,
    'grpc.max_send_message_length': GRPC_MAX_MESSAGE_BYTES,
  });
  for (const service of options.services)
    server.addService(service.definition, service.implementation);
  const health = new HealthImplementation({ '': 'NOT_SERVING' });
  health.addToServer(server);
  // Reflection describes what this server serves: its own services and health,
  // not every service of the shared descriptor set.
  const descriptors = {
    ...loadFileDescriptorSetFromBuffer(Buffer.from(options.descriptorSetBase64, 'base64')),
    ...loadSync(healthProtoPath),
  };
  new ReflectionService(descriptors, {
    services: [...options.services.map((s) => s.name), 'grpc.health.v1.Health'],
  }).addToServer(server);

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

/**
 * Wraps a unary handler: whatever it throws becomes a gRPC status through
 * {@link toGrpcError}; unexpected errors are logged and sent as INTERNAL
 * without internals.
 */
export function unary<Req, Res>(
  handler: (request: Req) => Promise<Res>,
  log: { error(obj: unknown, msg: string): void },
): (
  call: { request: Req },
  callback: (
    error: { code: status; details: string; message: string } | null,
    response?: Res,
  ) => void,
) => void {
  return (call, callback) => {
    handler(call.request).then(
      (response) => callback(null, response),
      (error: unknown) => {
        const appError = AppError.from(error);
        if (appError.code === 'INTERNAL') log.error({ err: error }, 'gRPC call failed');
        callback(toGrpcError(appError));
      },
    );
  };
}
