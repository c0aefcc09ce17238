import { RESOURCES, SERVICE_CLIENTS } from './clients.js';
import type { ResourceName } from './clients.js';
import type { UserToken } from './sign-in.js';

/** Options for {@link tokenForClient}. */
export interface ClientTokenOptions {
  /** The local issuer, e.g. `http://127.0.0.1:8084`. */
  readonly issuerUrl: string;
  /** One of {@link SERVICE_CLIENTS}: its local secret is used. */
  readonly clientId: string;
  /** The API the token is for; the client must be allowed to call it. */
  readonly api: ResourceName;
  readonly timeoutMs?: number;
}

/**
 * A service client's own access token from the local issuer: client
 * credentials (RFC 6749 section 4.4) with a resource indicator (RFC 8707),
 * for curl and grpcurl walkthroughs (`comms-infra token --client`). The
 * services themselves use `createTokenClient` in packages/auth, which also
 * caches and refreshes.
 */
export async function tokenForClient(options: ClientTokenOptions): Promise<UserToken> {
  const client = SERVICE_CLIENTS.find((c) => c.clientId === options.clientId);
  if (client === undefined)
    throw new Error(
      `the local issuer has no client '${options.clientId}'; it knows ${SERVICE_CLIENTS.map((c) => c.clientId).join(', ')}`,
    );
  if (!client.callees.includes(options.api))
    throw new Error(
      `client '${client.clientId}' may get tokens for ${client.callees.join(', ')}, not ${options.api}`,
    );
  const basic = Buffer.from(
    `${encodeURIComponent(client.clientId)}:${encodeURIComponent(client.clientSecret)}`,
  ).toString('base64');
  const response = await fetch(new URL('/token', options.issuerUrl), {
    method: 'POST',
    headers: {
      authorization: `Basic ${basic}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      resource: RESOURCES[options.api],
    }).toString(),
    signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
  });
  const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  if (!response.ok || typeof body['access_token'] !== 'string')
    throw new Error(
      `the token endpoint refused client '${client.clientId}' a token for ${options.api}: HTTP ${String(response.status)} ${JSON.stringify(body)}`,
    );
  return {
    accessToken: body['access_token'],
    expiresIn: Number(body['expires_in']),
    scope: typeof body['scope'] === 'string' ? body['scope'] : '',
  };
}
