/**
 * Who the local token issuer knows: the APIs it issues access tokens for
 * (one resource indicator, RFC 8707, and one audience per callee) and the
 * clients that may ask for them. Local runs and tests only: the secrets
 * below are public by design, and a deployment's issuer (Cognito in AWS)
 * has its own.
 */

/** The resource indicator (and `aud` of its access tokens) of each service's API. */
export const RESOURCES = {
  'user-service': 'urn:comms:user-service',
  'order-service': 'urn:comms:order-service',
  'notification-service': 'urn:comms:notification-service',
} as const;

/** A service whose API takes access tokens. */
export type ResourceName = keyof typeof RESOURCES;

/** The scope an API's tokens carry (one per API; the services authorize in their own terms). */
export const RESOURCE_SCOPES: Readonly<Record<ResourceName, string>> = {
  'user-service': 'users',
  'order-service': 'orders',
  'notification-service': 'notifications',
};

/** A client that authenticates with a secret and gets tokens for itself (client credentials). */
export interface ServiceClient {
  readonly clientId: string;
  readonly clientSecret: string;
  /** The APIs it calls: it may get a token for each, one audience per token. */
  readonly callees: readonly ResourceName[];
}

/**
 * The services' own identities, one audience per callee:
 * order-service calls user-service (ValidateUser, GET /users/:id);
 * notification-service calls user-service (contact info missing from its replica);
 * the repository's own tools (the demo, the benchmark, the reliability
 * suites) register users with user-service, as a back office would;
 * the console's backend reads and acts on every service.
 */
export const SERVICE_CLIENTS: readonly ServiceClient[] = [
  {
    clientId: 'order-service',
    clientSecret: 'order-service-local-secret',
    callees: ['user-service'],
  },
  {
    clientId: 'notification-service',
    clientSecret: 'notification-service-local-secret',
    callees: ['user-service'],
  },
  {
    clientId: 'tools',
    clientSecret: 'tools-local-secret',
    callees: ['user-service'],
  },
  {
    clientId: 'console',
    clientSecret: 'console-local-secret',
    callees: ['user-service', 'order-service', 'notification-service'],
  },
];

/**
 * The public client end users sign in through (the demo, the README's curl
 * walkthrough, tests): authorization code with PKCE, a native app's loopback
 * redirect (RFC 8252). It may get tokens for order-service, the public API,
 * and for notification-service (a user's own notifications and their feed).
 */
export const USER_CLIENT = {
  clientId: 'comms-cli',
  redirectUri: 'http://127.0.0.1/callback',
  callees: ['order-service', 'notification-service'] as readonly ResourceName[],
} as const;

/** The role claim value that lets a user ship and read any order. */
export const OPERATOR_ROLE = 'operator';
