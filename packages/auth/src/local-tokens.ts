import { RESOURCES, SERVICE_CLIENTS, signInAsUser } from '@comms/identity';
import type { ResourceName } from '@comms/identity';
import { createTokenClient } from './token-client.js';
import type { TokenClient } from './token-client.js';

/** Options for {@link localTokens}. */
export interface LocalTokensOptions {
  /** The local issuer, e.g. `http://127.0.0.1:8084`. */
  readonly issuerUrl: string;
  /** A token is fetched anew this long before it expires. Default 60 s. */
  readonly refreshBeforeSeconds?: number;
  /** Timeout of one sign-in or token request. Default 10 s. */
  readonly timeoutMs?: number;
}

/**
 * Access tokens from the local issuer for the repository's own clients (the
 * demo, the benchmark, the reliability suites, the web console's backend),
 * got the way real clients get them and cached until shortly before they
 * expire; concurrent askers share one request.
 */
export interface LocalTokens {
  /** An end user's token for `api` (default order-service): a sign-in with PKCE as `userId`. */
  user(userId: string, api?: ResourceName): Promise<string>;
  /** A service client's own token for `api` (one of SERVICE_CLIENTS): client credentials. */
  service(clientId: string, api: ResourceName): Promise<string>;
  /** Forgets every cached token (say, the issuer restarted with a new signing key). */
  clear(): void;
}

/** `{ authorization: 'Bearer <token>' }`: fetch headers and gRPC metadata alike. */
export const bearer = (token: string): { authorization: string } => ({
  authorization: `Bearer ${token}`,
});

/** Local tokens from the issuer at `options.issuerUrl`; see {@link LocalTokens}. */
export function localTokens(options: LocalTokensOptions): LocalTokens {
  const margin = (options.refreshBeforeSeconds ?? 60) * 1000;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const users = new Map<string, { token: string; refreshAt: number }>();
  const signingIn = new Map<string, Promise<string>>();
  const services = new Map<string, TokenClient>();

  const serviceClient = (clientId: string): TokenClient => {
    const known = services.get(clientId);
    if (known !== undefined) return known;
    const client = SERVICE_CLIENTS.find((c) => c.clientId === clientId);
    if (client === undefined)
      throw new Error(
        `the local issuer has no client '${clientId}'; it knows ${SERVICE_CLIENTS.map((c) => c.clientId).join(', ')}`,
      );
    const made = createTokenClient({
      tokenUrl: `${options.issuerUrl}/token`,
      clientId: client.clientId,
      clientSecret: client.clientSecret,
      refreshBeforeSeconds: margin / 1000,
      timeoutMs,
    });
    services.set(clientId, made);
    return made;
  };

  return {
    user(userId, api = 'order-service') {
      const key = `${userId} ${api}`;
      const hit = users.get(key);
      if (hit !== undefined && Date.now() < hit.refreshAt) return Promise.resolve(hit.token);
      const running = signingIn.get(key);
      if (running !== undefined) return running;
      const next = signInAsUser({ issuerUrl: options.issuerUrl, userId, api, timeoutMs })
        .then((signedIn) => {
          if (!Number.isFinite(signedIn.expiresIn) || signedIn.expiresIn <= 0)
            throw new Error(
              `the local issuer signed ${userId} in for ${api} without a usable expires_in (${String(signedIn.expiresIn)})`,
            );
          users.set(key, {
            token: signedIn.accessToken,
            refreshAt: Date.now() + Math.max(0, signedIn.expiresIn * 1000 - margin),
          });
          return signedIn.accessToken;
        })
        .finally(() => signingIn.delete(key));
      signingIn.set(key, next);
      return next;
    },
    service: async (clientId, api) => serviceClient(clientId).getToken(RESOURCES[api]),
    clear() {
      users.clear();
      signingIn.clear();
      services.clear();
    },
  };
}
