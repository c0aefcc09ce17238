import { createHash, randomBytes } from 'node:crypto';
import { RESOURCE_SCOPES, RESOURCES, USER_CLIENT } from './clients.js';
import type { ResourceName } from './clients.js';

/** Options for {@link signInAsUser}. */
export interface SignInOptions {
  /** The local issuer, e.g. `http://127.0.0.1:8084`. */
  readonly issuerUrl: string;
  /** Who signs in: the token's `sub`. */
  readonly userId: string;
  /** The API the token is for. Default order-service, the public one. */
  readonly api?: ResourceName;
  readonly timeoutMs?: number;
}

/** An end user's access token as the token endpoint returned it. */
export interface UserToken {
  readonly accessToken: string;
  readonly expiresIn: number;
  readonly scope: string;
}

const base64url = (bytes: Buffer) => bytes.toString('base64url');

/**
 * Signs a user in at the local token issuer the way a native app does
 * (RFC 8252): authorization code flow with PKCE, the browser's part played
 * over HTTP: the authorization request, the development sign-in form, the
 * redirect back with a code, and the code exchanged (with the resource
 * indicator) for a JWT access token. For tests, the demo and scripts.
 */
export async function signInAsUser(options: SignInOptions): Promise<UserToken> {
  const api = options.api ?? 'order-service';
  const signal = AbortSignal.timeout(options.timeoutMs ?? 10_000);
  const verifier = base64url(randomBytes(32));
  const challenge = base64url(createHash('sha256').update(verifier).digest());
  const state = base64url(randomBytes(16));
  const cookies = new Map<string, string>();

  // The browser's part: follow redirects by hand, carrying the issuer's cookies.
  const step = async (url: URL, init: RequestInit = {}): Promise<URL> => {
    const headers = new Headers(init.headers);
    if (cookies.size > 0)
      headers.set('cookie', [...cookies].map(([name, value]) => `${name}=${value}`).join('; '));
    const response = await fetch(url, { ...init, headers, redirect: 'manual', signal });
    for (const line of response.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const at = pair.indexOf('=');
      if (at > 0) cookies.set(pair.slice(0, at), pair.slice(at + 1));
    }
    const location = response.headers.get('location');
    if (response.status < 300 || response.status > 399 || location === null)
      throw new Error(
        `sign-in as ${options.userId} failed at ${url.pathname}: HTTP ${String(response.status)} ${(await response.text()).slice(0, 300)}`,
      );
    await response.body?.cancel();
    return new URL(location, url);
  };

  const authorize = new URL('/auth', options.issuerUrl);
  authorize.search = new URLSearchParams({
    client_id: USER_CLIENT.clientId,
    response_type: 'code',
    redirect_uri: USER_CLIENT.redirectUri,
    scope: `openid ${RESOURCE_SCOPES[api]}`,
    resource: RESOURCES[api],
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state,
  }).toString();
  const interaction = await step(authorize);
  // A refused request comes straight back to the redirect URI with an error, not to the sign-in page.
  if (interaction.href.startsWith(USER_CLIENT.redirectUri))
    throw new Error(
      `the local issuer refused to sign ${options.userId} in for ${api}: ${interaction.searchParams.get('error') ?? 'no sign-in page'} ${interaction.searchParams.get('error_description') ?? ''}`.trim(),
    );
  const resume = await step(new URL(`${interaction.pathname}/login`, interaction), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ login: options.userId }).toString(),
  });
  const callback = await step(resume);
  const code = callback.searchParams.get('code');
  if (code === null || callback.searchParams.get('state') !== state)
    throw new Error(
      `sign-in as ${options.userId} was refused: ${callback.searchParams.get('error') ?? 'no code'} ${callback.searchParams.get('error_description') ?? ''}`.trim(),
    );

  const response = await fetch(new URL('/token', options.issuerUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: USER_CLIENT.redirectUri,
      client_id: USER_CLIENT.clientId,
      code_verifier: verifier,
      resource: RESOURCES[api],
    }).toString(),
    signal,
  });
  const body = (await response.json()) as Record<string, unknown>;
  if (!response.ok || typeof body['access_token'] !== 'string')
    throw new Error(
      `the token endpoint refused the code for ${options.userId}: HTTP ${String(response.status)} ${JSON.stringify(body)}`,
    );
  return {
    accessToken: body['access_token'],
    expiresIn: Number(body['expires_in']),
    scope: typeof body['scope'] === 'string' ? body['scope'] : '',
  };
}
