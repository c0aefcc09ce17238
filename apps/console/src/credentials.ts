import { bearer, localTokens } from '@comms/auth';
import { AppError } from '@comms/service-kit';

/** The user the local issuer gives the operator role (packages/identity's OPERATOR_ROLE holder). */
export const OPERATOR_USER = 'operator';

/** Who the console acts as on one call to a service. */
export type Acting =
  | { readonly kind: 'user'; readonly userId: string }
  | { readonly kind: 'operator' }
  | { readonly kind: 'console'; readonly api: 'user-service' | 'notification-service' };

/** The page's words for an {@link Acting}, sent as the `x-acting-as` header. */
export const actingLabel = (acting: Acting): string =>
  acting.kind === 'user'
    ? `user ${acting.userId}`
    : acting.kind === 'operator'
      ? 'operator'
      : `the console (its own token for ${acting.api})`;

/**
 * The headers (`authorization`) a call carries, for REST and gRPC metadata
 * alike, and who the console then acts as. Without an issuer (AUTH_ISSUER_URL
 * unset) every call goes without a token: a service with authentication off
 * ignores tokens anyway, and one with it on refuses the call with its own
 * 401, which the page shows.
 */
export interface Credentials {
  /** The issuer tokens come from; undefined when the console sends none. */
  readonly issuerUrl: string | undefined;
  /** Headers for `acting`; a token the issuer will not give is an UNAVAILABLE error naming it. */
  headers(acting: Acting): Promise<Record<string, string>>;
  /**
   * Sends a call with `acting`'s headers. Refused as unauthenticated (401:
   * the issuer restarted with a new signing key, say), the cached tokens are
   * forgotten (at most once per {@link RETRY_AFTER_401_MS}, so a service that
   * refuses every token does not make the console sign in per call) and the
   * call is sent once more if a newer token than the refused one is then at
   * hand: a 401 means the service did nothing.
   */
  call<T>(
    acting: Acting,
    send: (headers: Record<string, string>) => Promise<T>,
    unauthenticated?: (answer: T) => boolean,
  ): Promise<T>;
}

/** How often a 401 may make the console forget its tokens and try again. */
export const RETRY_AFTER_401_MS = 5_000;

const is401 = (answer: unknown) => (answer as { status?: unknown } | undefined)?.status === 401;

/**
 * Tokens from the local issuer, got the way its clients get them and cached
 * while fresh (packages/auth's localTokens): an end user is signed in
 * (authorization code with PKCE) once per user, not per request; the
 * operator is the user {@link OPERATOR_USER}; user-service and
 * notification-service take the console's own client-credentials token.
 * This is a local-runs device: the backend signs in whichever user the page
 * names. A deployed backend-for-frontend would instead sign the browser's
 * own user in at the real issuer and keep that user's tokens in its session.
 */
export function createCredentials(
  issuerUrl: string | undefined,
  options: { readonly timeoutMs?: number } = {},
): Credentials {
  if (issuerUrl === undefined)
    return { issuerUrl, headers: () => Promise.resolve({}), call: (_acting, send) => send({}) };
  const tokens = localTokens({
    issuerUrl,
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
  });
  const token = (acting: Acting): Promise<string> =>
    acting.kind === 'user'
      ? tokens.user(acting.userId, 'order-service')
      : acting.kind === 'operator'
        ? tokens.user(OPERATOR_USER, 'order-service')
        : tokens.service('console', acting.api);
  let forgotAt = 0;
  const headers = async (acting: Acting): Promise<Record<string, string>> => {
    try {
      return bearer(await token(acting));
    } catch (error) {
      throw new AppError(
        'UNAVAILABLE',
        `the token issuer at ${issuerUrl} gave no token for ${actingLabel(acting)}: ${(error as Error).message}`,
      );
    }
  };
  return {
    issuerUrl,
    headers,
    async call(acting, send, unauthenticated = is401) {
      const used = await headers(acting);
      const first = await send(used);
      if (!unauthenticated(first)) return first;
      if (Date.now() - forgotAt >= RETRY_AFTER_401_MS) {
        forgotAt = Date.now();
        tokens.clear();
      }
      // Again only with a token newer than the refused one.
      const fresh = await headers(acting);
      return fresh['authorization'] === used['authorization'] ? first : send(fresh);
    },
  };
}
