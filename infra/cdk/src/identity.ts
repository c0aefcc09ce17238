import { Aws, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { ServiceName } from '@comms/endpoints';

/**
 * The APIs as Cognito resource servers: the identifier is the API's
 * resource indicator of the local issuer (`RESOURCES` in packages/identity)
 * and its one scope the local issuer's scope name (`RESOURCE_SCOPES`), so a
 * Cognito access token for order-service carries the scope
 * `urn:comms:order-service/orders`. Written out here (the CDK app does not
 * depend on the local issuer's registry); `identity.unit.test.ts` holds the
 * two equal.
 */
export const API_RESOURCE_SERVERS: Readonly<
  Record<ServiceName, { readonly identifier: string; readonly scope: string }>
> = {
  'user-service': { identifier: 'urn:comms:user-service', scope: 'users' },
  'order-service': { identifier: 'urn:comms:order-service', scope: 'orders' },
  'notification-service': { identifier: 'urn:comms:notification-service', scope: 'notifications' },
};

/** The scope a caller asks for and a callee requires: `<identifier>/<scope>`. */
export const requiredScopeOf = (api: ServiceName): string =>
  `${API_RESOURCE_SERVERS[api].identifier}/${API_RESOURCE_SERVERS[api].scope}`;

/** A client that gets tokens for itself (client credentials), and the APIs it calls. */
export interface MachineClient {
  readonly name: 'order-service' | 'notification-service' | 'console';
  readonly callees: readonly ServiceName[];
}

/**
 * The app clients with the client credentials grant, with the callees of
 * `SERVICE_CLIENTS` in packages/identity: order-service and
 * notification-service call user-service; the console's backend (not
 * deployed by this app; run against it from an operator's machine) calls
 * all three.
 */
export const MACHINE_CLIENTS: readonly MachineClient[] = [
  { name: 'order-service', callees: ['user-service'] },
  { name: 'notification-service', callees: ['user-service'] },
  { name: 'console', callees: ['user-service', 'order-service', 'notification-service'] },
];

/**
 * The users' public client (`USER_CLIENT` in packages/identity): authorization
 * code with PKCE, no secret; its tokens are for order-service and
 * notification-service. Cognito takes plain http only for localhost, so the
 * loopback redirect is `http://localhost/callback` here.
 */
export const USER_APP_CLIENT = {
  callbackUrl: 'http://localhost/callback',
  callees: ['order-service', 'notification-service'] as readonly ServiceName[],
} as const;

/** The Cognito group whose members' tokens carry `cognito:groups: ["operator"]`. */
export const OPERATOR_GROUP = 'operator';

/** Properties of {@link Identity}. */
export interface IdentityProps {
  /** Keep the user pool (its users) when the stack goes: prod. */
  readonly retain: boolean;
}

/**
 * Amazon Cognito as the issuer of every access token in AWS: a user pool
 * (no self sign-up: an administrator creates users), a hosted domain for
 * its OAuth 2.0 endpoints, one resource server per API, app clients with
 * client credentials for the services and the console (their secrets copied
 * into Secrets Manager, which ECS hands to the tasks), a public client for
 * users, and the `operator` group. The services verify its tokens with
 * @comms/auth's `cognito` profile (AUTH_PROFILE=cognito): Cognito access
 * tokens have no `aud`, so each API requires its scope instead.
 */
export class Identity extends Construct {
  readonly userPool: cognito.UserPool;
  /** `https://cognito-idp.<region>.amazonaws.com/<pool id>`: the tokens' `iss`. */
  readonly issuerUrl: string;
  /** The pool's keys: `<issuer>/.well-known/jwks.json`. */
  readonly jwksUrl: string;
  /** The OAuth 2.0 token endpoint of the pool's domain. */
  readonly tokenUrl: string;
  /** App client ids by client name. */
  readonly clientIds: Readonly<Record<MachineClient['name'], string>>;
  /** Each machine client's secret in Secrets Manager (a plain string). */
  readonly clientSecrets: Readonly<Record<MachineClient['name'], secretsmanager.ISecret>>;
  readonly userClient: cognito.UserPoolClient;

  constructor(scope: Construct, id: string, props: IdentityProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.userPool = new cognito.UserPool(this, 'UserPool', {
      selfSignUpEnabled: false,
      signInAliases: { username: true, email: true },
      // Machine-to-machine and the user flows below need no advanced features.
      featurePlan: cognito.FeaturePlan.ESSENTIALS,
      accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
      deletionProtection: props.retain,
      removalPolicy: props.retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    // The OAuth 2.0 endpoints (/oauth2/token, /oauth2/authorize) live on a domain.
    const domain = this.userPool.addDomain('Domain', {
      cognitoDomain: { domainPrefix: `${stack.stackName}-${Aws.ACCOUNT_ID}` },
    });
    this.issuerUrl = this.userPool.userPoolProviderUrl;
    this.jwksUrl = `${this.issuerUrl}/.well-known/jwks.json`;
    this.tokenUrl = `${domain.baseUrl()}/oauth2/token`;

    const scopes = {} as Record<ServiceName, cognito.OAuthScope>;
    for (const [api, server] of Object.entries(API_RESOURCE_SERVERS) as [
      ServiceName,
      (typeof API_RESOURCE_SERVERS)[ServiceName],
    ][]) {
      const scope = new cognito.ResourceServerScope({
        scopeName: server.scope,
        scopeDescription: `calls to ${api}`,
      });
      const resourceServer = this.userPool.addResourceServer(construct(api, 'Api'), {
        identifier: server.identifier,
        userPoolResourceServerName: api,
        scopes: [scope],
      });
      scopes[api] = cognito.OAuthScope.resourceServer(resourceServer, scope);
    }

    const clientIds = {} as Record<MachineClient['name'], string>;
    const clientSecrets = {} as Record<MachineClient['name'], secretsmanager.ISecret>;
    for (const client of MACHINE_CLIENTS) {
      const appClient = this.userPool.addClient(construct(client.name, 'Client'), {
        userPoolClientName: client.name,
        generateSecret: true,
        authFlows: {},
        oAuth: {
          flows: { clientCredentials: true },
          scopes: client.callees.map((api) => scopes[api]),
        },
        enableTokenRevocation: true,
      });
      clientIds[client.name] = appClient.userPoolClientId;
      // Cognito generates the secret; the tasks read it from Secrets Manager as ECS secrets.
      clientSecrets[client.name] = new secretsmanager.Secret(
        this,
        construct(client.name, 'ClientSecret'),
        {
          description: `Cognito client secret of ${client.name} (client credentials)`,
          secretStringValue: appClient.userPoolClientSecret,
          removalPolicy: RemovalPolicy.DESTROY,
        },
      );
    }
    this.clientIds = clientIds;
    this.clientSecrets = clientSecrets;

    this.userClient = this.userPool.addClient('UsersClient', {
      userPoolClientName: 'comms-users',
      generateSecret: false,
      authFlows: {},
      oAuth: {
        flows: { authorizationCodeGrant: true },
        scopes: [cognito.OAuthScope.OPENID, ...USER_APP_CLIENT.callees.map((api) => scopes[api])],
        callbackUrls: [USER_APP_CLIENT.callbackUrl],
      },
      preventUserExistenceErrors: true,
      enableTokenRevocation: true,
    });

    new cognito.CfnUserPoolGroup(this, 'OperatorGroup', {
      userPoolId: this.userPool.userPoolId,
      groupName: OPERATOR_GROUP,
      description: 'may ship and read any order (AUTH_OPERATOR_ROLE)',
    });
  }
}

/** `order-service` + `Client` -> `OrderServiceClient`. */
function construct(name: string, suffix: string): string {
  return `${name
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('')}${suffix}`;
}
