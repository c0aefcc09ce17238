import type { Principal, TokenVerifier } from '@comms/auth';
import { AppError } from '@comms/service-kit';

/**
 * Who may read what, for every route that declares the bearer scheme: an
 * end user reads (and streams) only their own notifications; the operator
 * role, and the service clients that act as operators (the console's
 * backend: AUTH_OPERATOR_CLIENTS), read every notification, the consumer
 * lag and the DLQ, and re-drive it. Any other service token is refused:
 * services other than the console have no business here. With no verifier
 * (AUTH_ISSUER_URL unset) every check passes, as before. Every refusal is
 * PERMISSION_DENIED naming the permission. A stream lives no longer than
 * its token (`untilExpiry`). A principal of `undefined` means
 * authentication is off.
 */
export interface NotificationAccess {
  /** True when callers must present a token. */
  readonly enabled: boolean;
  /** Verifies an `Authorization` value (`Bearer <token>`); undefined when authentication is off. */
  authenticate(authorization: string | undefined): Promise<Principal | undefined>;
  /**
   * The user whose notifications a list or a stream may show, given the
   * `userId` the request names: a user's own id (a user who names another
   * is refused), or, for an operator, what the request named (undefined:
   * everyone's).
   */
  readable(principal: Principal | undefined, userId: string | undefined): string | undefined;
  /** The operator routes (`permission`: `consumer-lag:read`, `dlq:read`, `dlq:redrive`). */
  operate(principal: Principal | undefined, permission: string): void;
  /**
   * A stream lives as long as its token: calls `expired` once, at the
   * principal's `expiresAt`, and returns what cancels that (call it when the
   * stream ends otherwise, so no timer outlives it). A token already past its
   * `expiresAt` (the verifier lets it through within its clock tolerance) is
   * refused here, UNAUTHENTICATED, instead of opening a stream that would end
   * at once. With authentication off nothing is scheduled.
   */
  untilExpiry(principal: Principal | undefined, expired: () => void): () => void;
}

/** setTimeout's longest delay (2^31 - 1 ms, about 24.8 days); a longer wait re-arms. */
const MAX_TIMER_MS = 2_147_483_647;

/** Builds the rules; `auth` undefined turns them off. */
export function createNotificationAccess(
  auth:
    | {
        readonly verifier: TokenVerifier;
        readonly operatorRole: string;
        readonly operatorClients: readonly string[];
      }
    | undefined,
): NotificationAccess {
  if (auth === undefined)
    return {
      enabled: false,
      authenticate: () => Promise.resolve(undefined),
      readable: (_principal, userId) => userId,
      operate: () => undefined,
      untilExpiry: () => () => undefined,
    };
  const { verifier, operatorRole, operatorClients } = auth;
  const operators = `the role '${operatorRole}' or the client${operatorClients.length === 1 ? '' : 's'} ${operatorClients.join(', ')}`;
  // Authentication is on: a missing principal is a route that skipped it, a bug, never a pass.
  const known = (principal: Principal | undefined): Principal => {
    if (principal === undefined) throw new AppError('INTERNAL', 'the call was not authenticated');
    return principal;
  };
  const isOperator = (principal: Principal) =>
    principal.kind === 'user'
      ? principal.roles.includes(operatorRole)
      : operatorClients.includes(principal.clientId);
  const who = (principal: Principal) =>
    principal.kind === 'user' ? `user '${principal.subject}'` : `client '${principal.clientId}'`;
  return {
    enabled: true,
    authenticate: (authorization) => verifier.authenticate(authorization),
    readable(principal, userId) {
      const caller = known(principal);
      if (isOperator(caller)) return userId;
      if (caller.kind === 'service')
        throw new AppError(
          'PERMISSION_DENIED',
          `permission 'notifications:read' is for end users (their own) and ${operators}; ${who(caller)} presented its own service token`,
        );
      if (userId !== undefined && userId !== caller.subject)
        throw new AppError(
          'PERMISSION_DENIED',
          `permission 'notifications:read' is for one's own notifications or ${operators}: the token is user '${caller.subject}', the request names userId '${userId}'`,
        );
      return caller.subject;
    },
    operate(principal, permission) {
      const caller = known(principal);
      if (!isOperator(caller))
        throw new AppError(
          'PERMISSION_DENIED',
          `permission '${permission}' is for ${operators}; ${who(caller)} is neither`,
        );
    },
    untilExpiry(principal, expired) {
      const { expiresAt } = known(principal);
      if (expiresAt <= Date.now())
        throw new AppError(
          'UNAUTHENTICATED',
          `the access token expired at ${new Date(expiresAt).toISOString()}; a stream needs a token that has not`,
        );
      // Always through a timer, never at once: the caller has not opened the stream yet.
      const wait = () => Math.min(Math.max(expiresAt - Date.now(), 0), MAX_TIMER_MS);
      let timer: NodeJS.Timeout | undefined;
      const arm = () => {
        timer = setTimeout(() => {
          if (Date.now() < expiresAt) arm();
          else {
            timer = undefined;
            expired();
          }
        }, wait());
      };
      arm();
      return () => {
        clearTimeout(timer);
        timer = undefined;
      };
    },
  };
}
