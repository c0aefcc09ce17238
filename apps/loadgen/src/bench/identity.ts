// How the bench's clients identify themselves when the system runs with
// identity on (startSystem's `auth`): the way real clients do, through the
// local issuer (RunningSystem.tokens), never a token made up here. The
// baselines and ceilings (bare-servers.ts, raw pg) take no token.
import { bearer, localTokens } from '@comms/auth';
import type { LocalTokens } from '@comms/auth';
import type { RunningSystem } from '@comms/local-system';

/**
 * A token is renewed this long before it expires: longer than any trial
 * (60 s in long mode) with its warm-up, so a header taken just before a
 * trial is valid until its end.
 */
const RENEW_BEFORE_SECONDS = 180;

const tokensOf = new WeakMap<RunningSystem, LocalTokens>();
/** The bench's own token cache at the system's issuer. */
function tokens(system: RunningSystem): LocalTokens {
  let found = tokensOf.get(system);
  if (found === undefined) {
    found = localTokens({
      issuerUrl: system.issuer.url,
      refreshBeforeSeconds: RENEW_BEFORE_SECONDS,
    });
    tokensOf.set(system, found);
  }
  return found;
}

/** Request headers (and gRPC metadata): `authorization`, or nothing when identity is off. */
export type AuthHeaders = Readonly<Record<string, string>>;

/**
 * An end user's header for `api`: a sign-in with PKCE, cached and renewed
 * {@link RENEW_BEFORE_SECONDS} before it expires.
 */
export async function asUser(
  system: RunningSystem,
  userId: string,
  api: 'order-service' | 'notification-service' = 'order-service',
): Promise<AuthHeaders> {
  return system.auth ? bearer(await tokens(system).user(userId, api)) : {};
}

/**
 * The back office's own header for user-service: the `tools` client's
 * client-credentials token, which may register and read users.
 */
export async function asBackOffice(system: RunningSystem): Promise<AuthHeaders> {
  return system.auth ? bearer(await tokens(system).service('tools', 'user-service')) : {};
}

/** The operator's header at notification-service (the consumer lag is an operator's view). */
export const asOperator = (system: RunningSystem) =>
  asUser(system, 'operator', 'notification-service');

/** What the report says about identity. */
export const IDENTITY_ON =
  "Identity was on: every request to a service carried a bearer token (a JWT access token from the local issuer, got as real clients get it: the bench user's sign-in with PKCE for order-service, the back office's client credentials for user-service), verified by the service on each request (signature against its cached JWKS, issuer, audience, expiry); the baselines and ceilings took none.";
/** What the report says when the services ran open. */
export const IDENTITY_OFF = 'Identity was off: the services took requests without tokens.';
