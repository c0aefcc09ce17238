import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import Provider, { errors } from 'oidc-provider';
import type { Configuration, KoaContextWithOIDC } from 'oidc-provider';
import {
  OPERATOR_ROLE,
  RESOURCE_SCOPES,
  RESOURCES,
  SERVICE_CLIENTS,
  USER_CLIENT,
} from '@comms/identity';
import type { ResourceName } from '@comms/identity';

/**
 * The local token issuer: an OAuth 2.0 authorization server built on the
 * certified OpenID Provider library oidc-provider, for local runs and tests.
 * It mints nothing itself: oidc-provider issues, signs and serves the keys.
 * What is ours is policy: which clients exist, which API (resource
 * indicator) each may get tokens for, the access tokens' format (JWT,
 * RFC 9068), the `roles` claim, and a development sign-in page that stands
 * in for a real identity provider's login.
 */

/** Options for {@link createTokenIssuer}. */
export interface TokenIssuerOptions {
  /** Port; 0 picks a free one. */
  readonly port: number;
  /**
   * Address to listen on. Default 127.0.0.1: local runs and tests stay on
   * loopback; only a container (compose) sets 0.0.0.0, so the other
   * containers reach it.
   */
  readonly host?: string;
  /** The issuer identifier (`iss`). Default `http://127.0.0.1:<port>`. */
  readonly issuerUrl?: string;
  /** User ids that get the operator role. */
  readonly operators: readonly string[];
  /** Access token lifetime in seconds. */
  readonly accessTokenTtlSeconds: number;
  readonly log?: (line: string) => void;
}

/** A running issuer. */
export interface TokenIssuer {
  /** The issuer identifier; discovery is at `<url>/.well-known/openid-configuration`. */
  readonly url: string;
  readonly port: number;
  /** The signing key's id, new on every start. */
  readonly kid: string;
  close(): Promise<void>;
}

const RESOURCE_BY_INDICATOR = new Map<string, ResourceName>(
  Object.entries(RESOURCES).map(([name, indicator]) => [indicator, name as ResourceName]),
);

/** The APIs a client may get tokens for. */
function calleesOf(clientId: string): readonly ResourceName[] {
  if (clientId === USER_CLIENT.clientId) return USER_CLIENT.callees;
  return SERVICE_CLIENTS.find((client) => client.clientId === clientId)?.callees ?? [];
}

/** A user id as the sign-in page accepts it: what user-service hands out, or a short name. */
const USER_ID = /^[A-Za-z0-9._-]{1,128}$/;

const escapeHtml = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  let body = '';
  for await (const chunk of req) {
    body += (chunk as Buffer).toString('utf8');
    if (body.length > 10_000) throw new Error('form too large');
  }
  return new URLSearchParams(body);
}

function sendText(res: ServerResponse, status: number, text: string, type = 'text/plain'): void {
  res.writeHead(status, { 'content-type': `${type}; charset=utf-8`, 'cache-control': 'no-store' });
  res.end(text);
}

/** Starts the issuer (on 127.0.0.1 unless `host` says otherwise) and resolves once it listens. */
export async function createTokenIssuer(options: TokenIssuerOptions): Promise<TokenIssuer> {
  const log = options.log ?? (() => undefined);
  const operators = new Set(options.operators);
  // A fresh signing key per start: the JWKS at <issuer>/jwks serves its public half.
  const kid = randomBytes(8).toString('hex');
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const signingKey = { ...privateKey.export({ format: 'jwk' }), kid, use: 'sig', alg: 'RS256' };

  // Requests that come before the provider exists (a health check polling the port) get a 503.
  let handle = (_req: IncomingMessage, res: ServerResponse) => sendText(res, 503, 'starting');
  const server = createServer((req, res) => handle(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the issuer has no port');
  const port = address.port;
  const url = options.issuerUrl ?? `http://127.0.0.1:${String(port)}`;

  const configuration: Configuration = {
    clients: [
      {
        client_id: USER_CLIENT.clientId,
        application_type: 'native',
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code'],
        response_types: ['code'],
        redirect_uris: [USER_CLIENT.redirectUri],
      },
      ...SERVICE_CLIENTS.map((client) => ({
        client_id: client.clientId,
        client_secret: client.clientSecret,
        token_endpoint_auth_method: 'client_secret_basic' as const,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
      })),
    ],
    jwks: { keys: [signingKey] },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    // The sign-in page below replaces the library's development interactions.
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      // Access tokens only for a named API: with a resource indicator the
      // library issues JWT access tokens (RFC 9068) whose `aud` is that API.
      resourceIndicators: {
        enabled: true,
        defaultResource: () => undefined,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, indicator, client) => {
          const name = RESOURCE_BY_INDICATOR.get(indicator);
          if (name === undefined || !calleesOf(client.clientId).includes(name))
            throw new errors.InvalidTarget(
              `client ${client.clientId} may not get tokens for ${indicator}`,
            );
          return {
            scope: RESOURCE_SCOPES[name],
            audience: indicator,
            accessTokenTTL: options.accessTokenTtlSeconds,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
    // Any user id may sign in on the development page; the token's `sub` is that id.
    findAccount: (_ctx, id) => ({ accountId: id, claims: () => ({ sub: id }) }),
    // A client's own token (client credentials) says so with `gty: client_credentials` (Auth0's
    // convention), the marker @comms/auth's rfc9068 profile reads: a `sub` equal to the
    // `client_id` proves nothing, since a user may sign in under a client's name.
    // RFC 9068 section 2.2.3.1: `roles` on end users' tokens.
    extraTokenClaims: (_ctx: KoaContextWithOIDC, token) => {
      if (token.kind === 'ClientCredentials') return { gty: 'client_credentials' };
      const accountId = 'accountId' in token ? token.accountId : undefined;
      if (typeof accountId !== 'string') return undefined;
      return { roles: operators.has(accountId) ? [OPERATOR_ROLE] : [] };
    },
    ttl: {
      AccessToken: options.accessTokenTtlSeconds,
      ClientCredentials: options.accessTokenTtlSeconds,
      Interaction: 600,
      Session: 3600,
      Grant: 3600,
      IdToken: 3600,
    },
  };
  const provider = new Provider(url, configuration);
  provider.on('server_error', (_ctx, error) => log(`server error: ${error.message}`));
  const callback = provider.callback();

  /** GET shows the sign-in form; POST .../login signs the user in and grants the requested API. */
  const interaction = async (req: IncomingMessage, res: ServerResponse, path: string) => {
    const [, , uid = '', action] = path.split('/');
    const details = await provider.interactionDetails(req, res);
    if (req.method === 'GET' && action === undefined) {
      const form = `<!doctype html><title>Sign in (local token issuer)</title>
<h1>Sign in</h1><p>Local runs only: any user id signs in, no password.</p>
<form method="post" action="/interaction/${escapeHtml(uid)}/login">
<label>User id <input name="login" autofocus required pattern="[A-Za-z0-9._-]{1,128}"></label>
<button type="submit">Sign in</button></form>`;
      sendText(res, 200, form, 'text/html');
      return;
    }
    if (req.method !== 'POST' || action !== 'login') {
      sendText(res, 404, 'not found');
      return;
    }
    const login = (await readForm(req)).get('login') ?? '';
    if (!USER_ID.test(login)) {
      sendText(res, 400, `login must be 1-128 of A-Z a-z 0-9 . _ -, got '${login.slice(0, 40)}'`);
      return;
    }
    const clientId = details.params['client_id'];
    if (typeof clientId !== 'string') throw new Error('the interaction has no client_id');
    // First-party client: consent is given with the sign-in, for exactly what was asked.
    const grant = new provider.Grant({ accountId: login, clientId });
    const scope = details.params['scope'];
    const requested = typeof scope === 'string' ? scope.split(' ') : [];
    if (requested.includes('openid')) grant.addOIDCScope('openid');
    const resources = details.params['resource'];
    for (const indicator of Array.isArray(resources) ? resources : [resources]) {
      const name = typeof indicator === 'string' ? RESOURCE_BY_INDICATOR.get(indicator) : undefined;
      if (name !== undefined && requested.includes(RESOURCE_SCOPES[name]))
        grant.addResourceScope(RESOURCES[name], RESOURCE_SCOPES[name]);
    }
    const grantId = await grant.save();
    await provider.interactionFinished(
      req,
      res,
      { login: { accountId: login }, consent: { grantId } },
      { mergeWithLastSubmission: false },
    );
  };

  handle = (req, res) => {
    const path = new URL(req.url ?? '/', url).pathname;
    if (!path.startsWith('/interaction/')) {
      void callback(req, res);
      return;
    }
    interaction(req, res, path).catch((error: unknown) => {
      const message = error instanceof Error ? error.message : String(error);
      log(`sign-in failed: ${message}`);
      if (!res.headersSent) sendText(res, 400, `sign-in failed: ${message}`);
      else res.end();
    });
  };

  return {
    url,
    port,
    kid,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
