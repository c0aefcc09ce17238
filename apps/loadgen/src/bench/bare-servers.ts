// The bench's baseline servers, in a process of their own like the services.
// The ceilings: a bare fastify route and a bare @grpc/grpc-js unary echo,
// the transports with nothing behind them. The minimal implementations: the
// same work as user-service's GET /users/:id and ValidateUser in the least
// code that does it (fastify or grpc-js, the same SELECT on the same
// database through a pool of the same size, no validation, error mapping,
// logging, tracing or metrics), so what the service costs over them is the
// cost of our shell. Takes {databaseUrl, poolSize} as JSON in argv[2] and
// prints its ports as JSON.
import { Server, ServerCredentials } from '@grpc/grpc-js';
import type { sendUnaryData, ServerUnaryCall } from '@grpc/grpc-js';
import Fastify from 'fastify';
import { UserServiceService } from '@comms/contracts/grpc';
import type { ValidateUserRequest, ValidateUserResponse } from '@comms/contracts/grpc';
import { createPool } from '@comms/postgres';
import { ECHO_SERVICE, USER_SELECT } from './echo.js';

interface Row {
  id: string;
  name: string;
  email: string;
  status: string;
  created_at: Date;
}

async function main() {
  const { databaseUrl, poolSize } = JSON.parse(process.argv[2] ?? '{}') as {
    databaseUrl?: string;
    poolSize?: number;
  };
  if (databaseUrl === undefined || poolSize === undefined)
    throw new Error('bare-servers takes {"databaseUrl": ..., "poolSize": ...} as its argument');
  const pool = createPool({ url: databaseUrl, applicationName: 'bench-minimal', max: poolSize });
  const find = async (id: string) => (await pool.query<Row>(USER_SELECT, [id])).rows[0];

  const http = Fastify({ logger: false });
  http.get('/hello', () => ({ hello: 'world' }));
  http.get<{ Params: { id: string } }>('/users/:id', async (request, reply) => {
    const row = await find(request.params.id);
    if (row === undefined) return reply.code(404).send({ title: 'not found' });
    return {
      id: row.id,
      name: row.name,
      email: row.email,
      status: row.status,
      createdAt: row.created_at,
    };
  });
  await http.listen({ host: '127.0.0.1', port: 0 });
  const httpPort = (http.server.address() as { port: number }).port;

  const grpc = new Server();
  grpc.addService(ECHO_SERVICE, {
    echo: (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => {
      callback(null, call.request);
    },
  });
  // Only ValidateUser: grpc-js answers the other methods UNIMPLEMENTED.
  grpc.addService(UserServiceService, {
    validateUser: (
      call: ServerUnaryCall<ValidateUserRequest, ValidateUserResponse>,
      callback: sendUnaryData<ValidateUserResponse>,
    ) => {
      const id = call.request.userId;
      find(id).then(
        (row) =>
          callback(
            null,
            row === undefined || row.status !== 'active'
              ? { valid: false, userName: '', errorMessage: `user ${id} not valid` }
              : { valid: true, userName: row.name, errorMessage: '' },
          ),
        (error: unknown) => callback(error as Error),
      );
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
    void http
      .close()
      .then(() => pool.end())
      .then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

await main();
