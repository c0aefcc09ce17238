import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, errors, jwtVerify } from 'jose';
import type { JWTPayload } from 'jose';
import { AppError } from '@comms/contracts';
import { markMissingToken } from './challenge.js';
import type { Principal } from './principal.js';

/**
 * What kind of access tokens the issuer hands out, and so which rules apply:
 *
 * - `rfc9068` (default; the local issuer, any RFC 9068 authorization
 *   server): `typ: at+jwt`, `aud` must contain the API's audience, and a
 *   token is a service's own (client credentials) only when it carries
 *   the issuer's marker `gty: client_credentials`.
 * - `cognito` (Amazon Cognito user pools): no `aud` and no `typ` on access
 *   tokens; `token_use` must be `access` and the space-separated `scope`
 *   must contain `requiredScope` (`<resource server identifier>/<scope>`)
 *   instead of the audience check. A token is a service's own when its
 *   `sub` equals its `client_id` and it has no `username` (Cognito's
 *   client-credentials tokens; a user's always has `username`). Roles come
 *   from `cognito:groups`.
 */
export type TokenProfile = 'rfc9068' | 'cognito';

/** The profiles {@link createTokenVerifier} knows, for config schemas. */
export const TOKEN_PROFILES: readonly TokenProfile[] = ['rfc9068', 'cognito'];

/**
 * The smallest `keysCooldownMs` accepted: an unknown `kid` fetches the
 * issuer's keys at most once a second, so a stream of forged kids cannot
 * turn every request into a JWKS fetch (nor hammer an issuer that is away).
 */
export const MIN_KEYS_COOLDOWN_MS = 1_000;

/** Options for {@link createTokenVerifier}. */
export interface TokenVerifierOptions {
  /** The issuer identifier the tokens must carry as `iss`, e.g. `http://127.0.0.1:8084`. */
  readonly issuer: string;
  /** Which issuer's rules apply; see {@link TokenProfile}. Default `rfc9068`. */
  readonly profile?: TokenProfile;
  /**
   * This API's audience (its resource indicator): under `rfc9068` the
   * tokens' `aud` must contain it. Under `cognito` (no `aud`) it names the
   * API in messages; `requiredScope` does the check.
   */
  readonly audience: string;
  /**
   * `cognito` only: the scope the tokens' `scope` must contain, e.g.
   * `urn:comms:order-service/orders`. Required with that profile.
   */
  readonly requiredScope?: string;
  /** Where the issuer's public keys are. Default `<issuer>/jwks`. */
  readonly jwksUrl?: string;
  /** The signature algorithms accepted; anything else (`none`, HS256) is refused. Default RS256, ES256. */
  readonly algorithms?: readonly string[];
  /** Slack for `exp`, `nbf` and `iat` against this host's clock. Default 5 s. */
  readonly clockToleranceSeconds?: number;
  /** Refuses tokens issued longer ago than this. Default one day. */
  readonly maxTokenAgeSeconds?: number;
  /** The JWT `typ` header required (RFC 9068: `at+jwt`); `null` accepts any. Default `at+jwt`. */
  readonly tokenType?: string | null;
  /** The claim with the user's roles. Default `roles` (RFC 9068 section 2.2.3.1); `cognito:groups` under `cognito`. */
  readonly rolesClaim?: string;
  /** How long fetched keys are used before they are fetched again. Default 10 minutes. */
  readonly keysMaxAgeMs?: number;
  /** After a fetch, how long an unknown `kid` waits before it may fetch the keys again. Default 30 s, at least {@link MIN_KEYS_COOLDOWN_MS}. */
  readonly keysCooldownMs?: number;
  /** Timeout of one key fetch. Default 5 s. */
  readonly keysTimeoutMs?: number;
  /** The clock, in milliseconds since the epoch. Default `Date.now`. */
  readonly now?: () => number;
  /**
   * Told when the issuer's keys cannot be fetched, with the JWKS URL and the
   * reason: for the service's log. Callers get a 503 that names neither.
   */
  readonly onKeysUnavailable?: (event: {
    readonly jwksUrl: string;
    readonly reason: string;
  }) => void;
}

/** Verifies bearer access tokens; see {@link createTokenVerifier}. */
export interface TokenVerifier {
  /** Verifies one token (the JWT itself) into a principal, or throws an AppError. */
  verify(token: string): Promise<Principal>;
  /** Takes an `Authorization` header value (`Bearer <token>`), or undefined when there was none. */
  authenticate(authorization: string | undefined): Promise<Principal>;
}

/**
 * The rfc9068 profile's marker of a client's own token (client credentials):
 * the claim `gty` with the value `client_credentials` (Auth0's convention;
 * the local issuer in packages/infra sets it through oidc-provider's
 * extraTokenClaims). Without it a token is a user's, even when its `sub`
 * equals its `client_id`.
 */
export const SERVICE_GRANT_CLAIM = 'gty';
/** The value of {@link SERVICE_GRANT_CLAIM} on a client-credentials token. */
export const CLIENT_CREDENTIALS = 'client_credentials';

const unauthenticated = (message: string, cause?: unknown) =>
  new AppError('UNAUTHENTICATED', message, [], { cause });

/** Attacker-controlled text in a message: short and printable. */
const shown = (value: unknown) =>
  JSON.stringify(value ?? null)
    .replace(/[^\x20-\x7E]/g, '?')
    .slice(0, 100);

function unverifiedClaims(token: string): JWTPayload {
  try {
    return decodeJwt(token);
  } catch {
    return {};
  }
}

/**
 * A verifier for the JWT access tokens of one issuer and one API, built on
 * `jose`: keys from the issuer's JWKS (fetched on first use, cached,
 * fetched again for a `kid` it does not know, at most once per
 * `keysCooldownMs`), and checks of signature, algorithm allow-list, `iss`,
 * `exp`, `nbf` and `iat` with a small clock tolerance, plus what the
 * profile asks (see {@link TokenProfile}): `typ` and `aud` (RFC 9068), or
 * `token_use` and the required scope (Cognito). Every refusal is an
 * AppError: UNAUTHENTICATED with what was wrong and what was expected, or
 * UNAVAILABLE when the issuer's keys cannot be fetched (a 503 the caller
 * may retry; nothing is let through). The UNAVAILABLE message does not
 * name the JWKS URL (callers have no business with the service's
 * internals): its `cause`, which the service's log shows, and
 * `onKeysUnavailable` do.
 *
 * The principal's kind follows the profile's explicit rule, never `sub`
 * alone: `service` for a client-credentials token, else `user`.
 */
export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  const profile = options.profile ?? 'rfc9068';
  if (!TOKEN_PROFILES.includes(profile))
    throw new Error(
      `profile must be one of ${TOKEN_PROFILES.join(', ')}, got '${String(profile)}'`,
    );
  const requiredScope = options.requiredScope;
  if (profile === 'cognito' && (requiredScope === undefined || requiredScope.trim() === ''))
    throw new Error(
      "the cognito profile needs requiredScope, the API's scope '<resource server identifier>/<scope>' (Cognito access tokens have no aud)",
    );
  const cooldown = options.keysCooldownMs ?? 30_000;
  if (!Number.isFinite(cooldown) || cooldown < MIN_KEYS_COOLDOWN_MS)
    throw new Error(
      `keysCooldownMs must be at least ${String(MIN_KEYS_COOLDOWN_MS)} (an unknown kid may fetch the keys once a second at most), got ${String(cooldown)}`,
    );
  const jwksUrl = new URL(options.jwksUrl ?? `${options.issuer.replace(/\/$/, '')}/jwks`);
  const algorithms = [...(options.algorithms ?? ['RS256', 'ES256'])];
  const tokenType =
    options.tokenType === undefined ? (profile === 'cognito' ? null : 'at+jwt') : options.tokenType;
  const rolesClaim = options.rolesClaim ?? (profile === 'cognito' ? 'cognito:groups' : 'roles');
  const tolerance = options.clockToleranceSeconds ?? 5;
  const now = options.now ?? Date.now;
  const maxAge = options.maxTokenAgeSeconds ?? 86_400;
  const keys = createRemoteJWKSet(jwksUrl, {
    cacheMaxAge: options.keysMaxAgeMs ?? 600_000,
    cooldownDuration: cooldown,
    timeoutDuration: options.keysTimeoutMs ?? 5_000,
  });

  const explain = (error: unknown, token: string): AppError => {
    const claims = unverifiedClaims(token);
    if (error instanceof errors.JWTExpired)
      return unauthenticated(
        error.claim === 'iat'
          ? `the access token was issued more than ${String(maxAge)} s ago`
          : `the access token expired at ${typeof claims.exp === 'number' ? new Date(claims.exp * 1000).toISOString() : 'an unknown time'}`,
        error,
      );
    if (error instanceof errors.JWTClaimValidationFailed) {
      switch (error.claim) {
        case 'iss':
          return unauthenticated(
            `the access token's issuer is ${shown(claims.iss)}; expected "${options.issuer}"`,
            error,
          );
        case 'aud':
          return unauthenticated(
            `the access token is for ${shown(claims.aud)}; expected "${options.audience}"`,
            error,
          );
        case 'nbf':
        case 'iat':
          return unauthenticated(
            `the access token is not valid yet (its "${error.claim}" is in the future)`,
            error,
          );
        case 'typ':
          return unauthenticated(
            `the token's type is ${shown(decodeHeader(token).typ)}; expected an access token ("${String(tokenType)}")`,
            error,
          );
        default:
          return unauthenticated(`the access token's "${error.claim}" claim is invalid`, error);
      }
    }
    if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported)
      return unauthenticated(
        `the access token is signed with ${shown(decodeHeader(token).alg)}; allowed: ${algorithms.join(', ')}`,
        error,
      );
    if (error instanceof errors.JWSSignatureVerificationFailed)
      return unauthenticated("the access token's signature does not verify", error);
    if (
      error instanceof errors.JWKSNoMatchingKey ||
      error instanceof errors.JWKSMultipleMatchingKeys
    )
      return unauthenticated(
        `no key of the issuer matches the access token's kid ${shown(decodeHeader(token).kid)}`,
        error,
      );
    if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid)
      return unauthenticated(`the access token is not a well-formed JWT: ${error.message}`, error);
    // The keys could not be fetched (issuer down, timeout, not a JWKS): refuse, retryably. The
    // caller learns that much; where the keys are and why they did not come is for the log.
    const reason = error instanceof Error ? error.message : String(error);
    options.onKeysUnavailable?.({ jwksUrl: jwksUrl.href, reason });
    return new AppError(
      'UNAVAILABLE',
      "the token issuer's keys cannot be fetched just now, so the access token cannot be checked; try again shortly",
      [],
      {
        cause: new Error(`could not get the token issuer's keys from ${jwksUrl.href}: ${reason}`, {
          cause: error,
        }),
      },
    );
  };

  const verify = async (token: string): Promise<Principal> => {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        issuer: options.issuer,
        ...(profile === 'rfc9068' ? { audience: options.audience } : {}),
        algorithms,
        clockTolerance: tolerance,
        maxTokenAge: maxAge,
        currentDate: new Date(now()),
        ...(tokenType === null ? {} : { typ: tokenType }),
        requiredClaims: ['sub', 'exp', 'iat'],
      }));
    } catch (error) {
      throw explain(error, token);
    }
    const subject = payload.sub;
    const clientId = payload['client_id'];
    if (typeof subject !== 'string' || subject === '' || typeof clientId !== 'string')
      throw unauthenticated('the access token has no "sub" or no "client_id"');
    const scope = payload['scope'];
    const scopes = typeof scope === 'string' ? scope.split(' ').filter((s) => s !== '') : [];
    let kind: Principal['kind'];
    if (profile === 'cognito') {
      // Cognito also signs ID tokens with the same keys: only its access tokens pass.
      if (payload['token_use'] !== 'access')
        throw unauthenticated(
          `the token's token_use is ${shown(payload['token_use'])}; expected an access token ("access")`,
        );
      if (requiredScope !== undefined && !scopes.includes(requiredScope))
        throw unauthenticated(
          `the access token's scope ${shown(scope)} does not include "${requiredScope}" (${options.audience})`,
        );
      kind = subject === clientId && payload['username'] === undefined ? 'service' : 'user';
    } else {
      kind = payload[SERVICE_GRANT_CLAIM] === CLIENT_CREDENTIALS ? 'service' : 'user';
    }
    const claimed = payload[rolesClaim];
    const roles =
      kind === 'user' && Array.isArray(claimed)
        ? claimed.filter((role): role is string => typeof role === 'string')
        : [];
    return {
      subject,
      kind,
      roles,
      clientId,
      scopes,
      expiresAt: (payload.exp ?? 0) * 1000,
    };
  };

  return {
    verify,
    async authenticate(authorization) {
      if (authorization === undefined || authorization.trim() === '')
        throw markMissingToken(
          unauthenticated(
            'this request needs a bearer access token (Authorization: Bearer <token>)',
          ),
        );
      const match = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i.exec(authorization);
      if (match?.[1] === undefined)
        throw unauthenticated('the Authorization header must be "Bearer <access token>"');
      return verify(match[1]);
    },
  };
}

function decodeHeader(token: string): { alg?: unknown; kid?: unknown; typ?: unknown } {
  try {
    return decodeProtectedHeader(token);
  } catch {
    return {};
  }
}
