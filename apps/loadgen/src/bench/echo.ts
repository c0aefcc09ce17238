// What the baseline servers (bare-servers.ts) and the bench's cases share.
import type { ServiceDefinition } from '@grpc/grpc-js';

/** user-service's read of one user, word for word: the minimal implementations and the raw read run it. */
export const USER_SELECT =
  'SELECT id, seq::text, name, email, status, created_at FROM users WHERE id = $1';

/** A unary method that passes bytes through untouched (declared for ghz in proto/bench/v1/echo.proto). */
export const ECHO_SERVICE: ServiceDefinition = {
  echo: {
    path: '/bench.v1.EchoService/Echo',
    requestStream: false,
    responseStream: false,
    requestSerialize: (value: Buffer) => value,
    requestDeserialize: (bytes: Buffer) => bytes,
    responseSerialize: (value: Buffer) => value,
    responseDeserialize: (bytes: Buffer) => bytes,
  },
};
