import type { ServiceDefinition } from '@grpc/grpc-js';

/** A unary method that passes bytes through untouched. */
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
