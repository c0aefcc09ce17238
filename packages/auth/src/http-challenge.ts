import { AppError } from '@comms/contracts';
import { bearerChallenge } from './challenge.js';

/**
 * A fastify `onError` hook (typed by shape, so this package needs no
 * fastify) that puts the RFC 6750 `WWW-Authenticate` challenge on a 401 or
 * 403 answer: what the bearer token lacked, for the realm `realm`. The
 * error itself is answered by the app's error handler (a problem document).
 */
export function challengeOnError(
  realm: string,
): (
  request: unknown,
  reply: { header(name: string, value: string): unknown },
  error: unknown,
  done: () => void,
) => void {
  return (_request, reply, error, done) => {
    const challenge = error instanceof AppError ? bearerChallenge(error, realm) : undefined;
    if (challenge !== undefined) reply.header('www-authenticate', challenge);
    done();
  };
}
