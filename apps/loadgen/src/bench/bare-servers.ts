// A bare fastify route and a bare @grpc/grpc-js unary echo, the baselines
// of the REST and gRPC hops: the same transports with nothing behind them.
// Runs as its own process, like the services, and prints its ports as JSON.
import { Server, ServerCredentials } from '@grpc/grpc-js';
import type { sendUnaryData, ServerUnaryCall } from '@grpc/grpc-js';
import Fastify from 'fastify';
import { ECHO_SERVICE } from './echo.js';

async function main() {
  const http = Fastify({ logger: false });
  http.get('/hello', () => ({ hello: 'world' }));
  await http.listen({ host: '127.0.0.1', port: 0 });
  const httpPort = (http.server.address() as { port: number }).port;

  const grpc = new Server();
  grpc.addService(ECHO_SERVICE, {
    echo: (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => {
      callback(null, call.request);
    },
  });
  const grpcPort = await new Promise<number>((resolve, reject) => {
    grpc.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, port) => {
      if (error === null) resolve(port);
      else reject(error);
    });
  });

  process.stdout.write(`${JSON.stringify({ http: httpPort, grpc: grpcPort })}\n`);
  const stop = () => {
    grpc.forceShutdown();
    void http.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

await main();
