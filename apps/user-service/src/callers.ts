import { assertService } from '@comms/auth';
import type { TokenVerifier } from '@comms/auth';

/**
 * Service identity: user-service is internal, so with a verifier
 * (AUTH_ISSUER_URL) every call must carry the own access token
 * (client credentials, audience user-service) of one of the allowed
 * services. No token or a bad one is UNAUTHENTICATED; a user's token or
 * another client's is PERMISSION_DENIED naming the permission. Without a
 * verifier every call passes, as before.
 */
export interface CallerCheck {
  readonly enabled: boolean;
  /** Checks an `Authorization` value for `permission` (`users:read`, `users:write`). */
  check(authorization: string | undefined, permission: string): Promise<void>;
}

/** Builds the check; `auth` undefined turns it off. */
export function createCallerCheck(
  auth: { readonly verifier: TokenVerifier; readonly callers: readonly string[] } | undefined,
): CallerCheck {
  if (auth === undefined) return { enabled: false, check: () => Promise.resolve() };
  return {
    enabled: true,
    async check(authorization, permission) {
      assertService(await auth.verifier.authenticate(authorization), auth.callers, permission);
    },
  };
}
