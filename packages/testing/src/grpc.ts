import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { credentials, loadPackageDefinition } from '@grpc/grpc-js';
import type { ServiceClientConstructor } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';

/**
 * Asks a gRPC server, through server reflection alone (as grpcurl does,
 * without .proto files), which services it serves.
 */
export async function listGrpcServices(address: string): Promise<string[]> {
  const require = createRequire(import.meta.url);
  const protoDir = join(dirname(require.resolve('@grpc/reflection')), '..', 'proto');
  const definition = loadSync(join(protoDir, 'grpc/reflection/v1alpha/reflection.proto'), {
    keepCase: true,
  });
  const loaded = loadPackageDefinition(definition) as unknown as {
    grpc: { reflection: { v1alpha: { ServerReflection: ServiceClientConstructor } } };
  };
  const client = new loaded.grpc.reflection.v1alpha.ServerReflection(
    address,
    credentials.createInsecure(),
  );
  try {
    return await new Promise<string[]>((resolve, reject) => {
      const stream = (
        client as unknown as {
          ServerReflectionInfo(): NodeJS.ReadWriteStream & { write(m: unknown): void };
        }
      ).ServerReflectionInfo();
      stream.on(
        'data',
        (response: { list_services_response?: { service: { name: string }[] } }) => {
          resolve(response.list_services_response?.service.map((s) => s.name) ?? []);
          stream.end();
        },
      );
      stream.on('error', reject);
      stream.write({ list_services: '' });
    });
  } finally {
    client.close();
  }
}
