import { AppError } from '@comms/contracts';
import type { TokenProfile } from './verifier.js';

/** Options for {@link createTokenClient}. */
export interface TokenClientOptions {
  /** The issuer's token endpoint, e.g. `http://127.0.0.1:8084/token`. */
  readonly tokenUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /**
   * How to ask for a token for one callee. `rfc9068` (default): the
   * resource indicator (RFC 8707) as `resource`. `cognito`: Cognito has no
   * audience, so the request names the callee's scope from `scopes`
   * (`scope=<resource server identifier>/<scope>`).
   */
  readonly profile?: TokenProfile;
  /** `cognito`: the scope to request for each resource, e.g. `{ 'urn:comms:user-service': 'urn:comms:user-service/users' }`. */
  readonly scopes?: Readonly<Record<string, string>>;
  /** A token is fetched anew this long before it expires. Default 30 s. */
  readonly refreshBeforeSeconds?: number;
  /** Timeout of one token request. Default 5 s. */
  readonly timeoutMs?: number;
  /** The clock, in milliseconds since the epoch. Default `Date.now`. */
  readonly now?: () => number;
}

/** A service's own access tokens, one per callee; see {@link createTokenClient}. */
export interface TokenClient {
  /** A valid access token for the API `resource` (its resource indicator). */
  getToken(resource: string): Promise<string>;
  /** Forgets the cached token for `resource` (the callee refused it): the next call fetches one. */
  invalidate(resource: string): void;
}

interface Cached {
  readonly token: string;
  readonly refreshAt: number;
}

/**
 * Client credentials (RFC 6749 section 4.4) with a resource indicator
 * (RFC 8707): one token per callee, cached until shortly before it
 * expires; concurrent callers share one request. A refusal or an issuer
 * that does not answer is UNAVAILABLE, naming the endpoint and the
 * issuer's error: the call that needed the token cannot be made.
 */
export function createTokenClient(options: TokenClientOptions): TokenClient {
  const now = options.now ?? Date.now;
  const margin = (options.refreshBeforeSeconds ?? 30) * 1000;
  const cache = new Map<string, Cached>();
  const pending = new Map<string, Promise<string>>();
  const basic = Buffer.from(
    `${encodeURIComponent(options.clientId)}:${encodeURIComponent(options.clientSecret)}`,
  ).toString('base64');

  const requestFor = (resource: string): Record<string, string> => {
    if (options.profile !== 'cognito') return { grant_type: 'client_credentials', resource };
    const scope = options.scopes?.[resource];
    if (scope === undefined)
      throw new AppError(
        'UNAVAILABLE',
        `no scope configured for ${resource}: the cognito profile asks for a callee's scope ('<resource server identifier>/<scope>'), not its audience`,
      );
    return { grant_type: 'client_credentials', scope };
  };

  const fetchToken = async (resource: string): Promise<string> => {
    const unavailable = (reason: string, cause?: unknown) =>
      new AppError(
        'UNAVAILABLE',
        `could not get an access token for ${resource} from ${options.tokenUrl} as ${options.clientId}: ${reason}`,
        [],
        { cause },
      );
    let response: Response;
    try {
      response = await fetch(options.tokenUrl, {
        method: 'POST',
        headers: {
          authorization: `Basic ${basic}`,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body: new URLSearchParams(requestFor(resource)).toString(),
        signal: AbortSignal.timeout(options.timeoutMs ?? 5_000),
      });
    } catch (error) {
      throw unavailable(error instanceof Error ? error.message : String(error), error);
    }
    const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
    const token = body['access_token'];
    const expiresIn = Number(body['expires_in']);
    if (!response.ok || typeof token !== 'string' || !Number.isFinite(expiresIn)) {
      const error = typeof body['error'] === 'string' ? body['error'] : 'no access_token';
      const description =
        typeof body['error_description'] === 'string' ? ` (${body['error_description']})` : '';
      throw unavailable(`HTTP ${String(response.status)} ${error}${description}`);
    }
    cache.set(resource, { token, refreshAt: now() + Math.max(0, expiresIn * 1000 - margin) });
    return token;
  };

  return {
    getToken(resource) {
      const cached = cache.get(resource);
      if (cached !== undefined && now() < cached.refreshAt) return Promise.resolve(cached.token);
      const inFlight = pending.get(resource);
      if (inFlight !== undefined) return inFlight;
      const request = fetchToken(resource).finally(() => pending.delete(resource));
      pending.set(resource, request);
      return request;
    },
    invalidate(resource) {
      cache.delete(resource);
    },
  };
}

/** What a caller attaches to its calls to one callee; see {@link credentialFor}. */
export interface CalleeCredential {
  /** A valid token for the callee (cached by the client). */
  token(): Promise<string>;
  /** The callee refused the token (401 / UNAUTHENTICATED): the next call gets a fresh one. */
  refused(): void;
}

/** The token client's credential for one callee, identified by its resource indicator. */
export function credentialFor(client: TokenClient, resource: string): CalleeCredential {
  return {
    token: () => client.getToken(resource),
    refused: () => client.invalidate(resource),
  };
}
