import { Compile } from 'typebox/compile';
import Type from 'typebox';
import type { Static, TObject } from 'typebox';

/**
 * Parses the environment against a TypeBox schema at boot. Values are
 * converted (numbers, booleans) and defaults applied; the first problem
 * stops the process with the variable's name and what was expected.
 * The returned type is derived from the schema.
 */
export function parseEnv<S extends TObject>(
  schema: S,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Static<S> {
  const validator = Compile(schema);
  const picked: Record<string, unknown> = {};
  for (const key of Object.keys(schema.properties)) {
    const value = env[key];
    if (value !== undefined && value !== '') picked[key] = value;
  }
  const converted = validator.Default(validator.Convert(picked));
  if (validator.Check(converted)) return converted;
  const error = validator.Errors(converted)[0];
  let variable = error?.instancePath.replace(/^\//, '') ?? '';
  if (error?.keyword === 'required') {
    variable =
      (error.params as { requiredProperties?: string[] }).requiredProperties?.[0] ?? variable;
    throw new Error(`${variable} is required${describe(schema, variable)}`);
  }
  const got = picked[variable];
  throw new Error(
    `${variable} ${error?.message ?? 'is invalid'}${describe(schema, variable)}; got '${String(got)}'`,
  );
}

function describe(schema: TObject, variable: string): string {
  const property: unknown = schema.properties[variable];
  const description = (property as { description?: unknown } | undefined)?.description;
  return typeof description === 'string' ? ` (${description})` : '';
}

const LogLevel = Type.Union(
  [
    Type.Literal('fatal'),
    Type.Literal('error'),
    Type.Literal('warn'),
    Type.Literal('info'),
    Type.Literal('debug'),
    Type.Literal('trace'),
    Type.Literal('silent'),
  ],
  { default: 'info', description: 'one of fatal, error, warn, info, debug, trace, silent' },
);

/**
 * The variables every service reads, as TypeBox properties to spread into
 * its own environment schema: where to listen, its own database, Kafka,
 * logging and the shutdown bound.
 */
export function serviceEnv(options: { database: string; httpPort: number }) {
  return {
    HOST: Type.String({
      default: '127.0.0.1',
      description: 'address to listen on; 0.0.0.0 in containers',
    }),
    PORT: Type.Integer({
      minimum: 1,
      maximum: 65535,
      default: options.httpPort,
      description: 'HTTP port',
    }),
    DATABASE_URL: Type.Optional(
      Type.String({
        minLength: 1,
        description: `postgres://user:password@host:5432/${options.database}, the service's own database`,
      }),
    ),
    DATABASE_SECRET: Type.Optional(
      Type.String({
        minLength: 2,
        description:
          'instead of DATABASE_URL: the JSON secret of an RDS/Aurora database (username, password, host, port, dbname)',
      }),
    ),
    KAFKA_BROKERS: Type.String({ minLength: 1, description: 'host:port[,host:port]' }),
    LOG_LEVEL: LogLevel,
    SHUTDOWN_TIMEOUT_MS: Type.Integer({
      minimum: 100,
      default: 10_000,
      description: 'bound on graceful shutdown',
    }),
  };
}

/** `GRPC_PORT`, for the services that serve gRPC; spread beside {@link serviceEnv}. */
export function grpcPortEnv(port: number) {
  return {
    GRPC_PORT: Type.Integer({
      minimum: 1,
      maximum: 65535,
      default: port,
      description: 'gRPC port',
    }),
  };
}

/** `OUTBOX_POLL_MS`, for the services that publish through the outbox; spread beside {@link serviceEnv}. */
export function outboxEnv() {
  return {
    OUTBOX_POLL_MS: Type.Integer({
      minimum: 5,
      default: 100,
      description: 'milliseconds between outbox polls',
    }),
  };
}

/**
 * `AUTH_PROFILE`: which issuer's rules the tokens follow, `rfc9068` (the
 * default: the local issuer, any RFC 9068 server; `aud` is checked) or
 * `cognito` (Amazon Cognito: no `aud`, the API's scope is checked, and a
 * caller asks for its callee's scope). One variable for both sides of a
 * service (its API and its calls), spread by {@link bearerAuthEnv} and
 * {@link serviceIdentityEnv}; @comms/auth's `TokenProfile`.
 */
function authProfileEnv() {
  return {
    AUTH_PROFILE: Type.Union([Type.Literal('rfc9068'), Type.Literal('cognito')], {
      default: 'rfc9068',
      description:
        "the issuer's token rules: rfc9068 (the local issuer; aud checked) or cognito (Amazon Cognito; the API's scope checked instead of aud)",
    }),
  };
}

/** The issuer profiles {@link authProfileEnv} takes. */
export type AuthProfile = 'rfc9068' | 'cognito';

/**
 * A service's own identity towards the services it calls (client
 * credentials): `SERVICE_TOKEN_URL`, `SERVICE_CLIENT_ID` (default
 * `clientId`), `SERVICE_CLIENT_SECRET` and `USER_SERVICE_AUDIENCE`; spread
 * beside {@link serviceEnv} and read with {@link serviceIdentityOf}.
 */
export function serviceIdentityEnv(clientId: string) {
  return {
    SERVICE_TOKEN_URL: Type.Optional(
      Type.String({
        pattern: '^https?://\\S+$',
        description:
          "the issuer's token endpoint (the local one is http://127.0.0.1:8084/token); when set, calls to user-service carry this service's own client-credentials token",
      }),
    ),
    SERVICE_CLIENT_ID: Type.String({
      minLength: 1,
      default: clientId,
      description: "this service's client id at the issuer",
    }),
    SERVICE_CLIENT_SECRET: Type.Optional(
      Type.String({
        minLength: 1,
        description: "this service's client secret; required when SERVICE_TOKEN_URL is set",
      }),
    ),
    USER_SERVICE_AUDIENCE: Type.String({
      minLength: 1,
      default: 'urn:comms:user-service',
      description: "user-service's resource indicator, the audience of the tokens sent to it",
    }),
    USER_SERVICE_SCOPE: Type.String({
      pattern: '^\\S+/\\S+$',
      default: 'urn:comms:user-service/users',
      description:
        "with AUTH_PROFILE=cognito: the scope asked for user-service's tokens, <resource server identifier>/<scope>",
    }),
    ...authProfileEnv(),
  };
}

/** A service's own identity at the token issuer; see {@link serviceIdentityEnv}. */
export interface ServiceIdentity {
  readonly tokenUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly userServiceAudience: string;
  /** `cognito` only (absent for the default, rfc9068): the token client asks for scopes. */
  readonly profile?: AuthProfile;
  /** `cognito` only: the scope to ask for each callee, by its resource indicator. */
  readonly scopes?: Readonly<Record<string, string>>;
}

/** The identity {@link serviceIdentityEnv} parsed, or undefined without SERVICE_TOKEN_URL; throws without the secret. */
export function serviceIdentityOf(parsed: {
  readonly SERVICE_TOKEN_URL?: string | undefined;
  readonly SERVICE_CLIENT_ID: string;
  readonly SERVICE_CLIENT_SECRET?: string | undefined;
  readonly USER_SERVICE_AUDIENCE: string;
  readonly USER_SERVICE_SCOPE?: string;
  readonly AUTH_PROFILE?: AuthProfile;
}): ServiceIdentity | undefined {
  if (parsed.SERVICE_TOKEN_URL === undefined) return undefined;
  if (parsed.SERVICE_CLIENT_SECRET === undefined)
    throw new Error(
      `SERVICE_CLIENT_SECRET is required when SERVICE_TOKEN_URL is set (${parsed.SERVICE_CLIENT_ID}'s client secret at the issuer)`,
    );
  return {
    tokenUrl: parsed.SERVICE_TOKEN_URL,
    clientId: parsed.SERVICE_CLIENT_ID,
    clientSecret: parsed.SERVICE_CLIENT_SECRET,
    userServiceAudience: parsed.USER_SERVICE_AUDIENCE,
    // Ready for createTokenClient as it is: with cognito it asks for user-service's scope.
    ...(parsed.AUTH_PROFILE === 'cognito'
      ? {
          profile: 'cognito' as const,
          scopes: {
            [parsed.USER_SERVICE_AUDIENCE]:
              parsed.USER_SERVICE_SCOPE ?? 'urn:comms:user-service/users',
          },
        }
      : {}),
  };
}

/**
 * Bearer access tokens at a service's own API (opt-in): `AUTH_ISSUER_URL`
 * (unset: no check), `AUTH_AUDIENCE` (default `audience`), `AUTH_JWKS_URL`
 * and `AUTH_KEYS_COOLDOWN_MS`; spread beside {@link serviceEnv} and read
 * with {@link bearerAuthOf}. `whenSet` says what setting the issuer turns on.
 */
export function bearerAuthEnv(options: {
  readonly service: string;
  readonly audience: string;
  readonly whenSet: string;
}) {
  return {
    AUTH_ISSUER_URL: Type.Optional(
      Type.String({
        pattern: '^https?://[^\\s/]+(/\\S*[^\\s/])?$',
        description: `issuer of the access tokens, an http(s) URL without a trailing slash (the local one is http://127.0.0.1:8084); when set, ${options.whenSet}; unset it for no check`,
      }),
    ),
    AUTH_AUDIENCE: Type.String({
      minLength: 1,
      default: options.audience,
      description: `the audience (resource indicator) ${options.service}'s access tokens must carry`,
    }),
    AUTH_JWKS_URL: Type.Optional(
      Type.String({
        pattern: '^https?://\\S+$',
        description: "the issuer's JWKS, an http(s) URL; default <AUTH_ISSUER_URL>/jwks",
      }),
    ),
    AUTH_KEYS_COOLDOWN_MS: Type.Integer({
      // The verifier's floor (MIN_KEYS_COOLDOWN_MS in @comms/auth): forged kids fetch the keys once a second at most.
      minimum: 1000,
      default: 30_000,
      description:
        "after fetching the issuer's keys, how long a token with an unknown kid is refused (401) before the keys are fetched again; at least 1000",
    }),
    ...authProfileEnv(),
    AUTH_REQUIRED_SCOPE: Type.Optional(
      Type.String({
        pattern: '^\\S+/\\S+$',
        description: `with AUTH_PROFILE=cognito (required then): the scope ${options.service}'s tokens must carry, <resource server identifier>/<scope>`,
      }),
    ),
  };
}

/** `AUTH_OPERATOR_ROLE` (default `operator`), the role claim value that `mayDo`; beside {@link bearerAuthEnv}. */
export function operatorRoleEnv(mayDo: string) {
  return {
    AUTH_OPERATOR_ROLE: Type.String({
      minLength: 1,
      default: 'operator',
      description: `the role claim value that ${mayDo}`,
    }),
  };
}

/** What {@link bearerAuthOf} reads: the verifier's options, ready for `createTokenVerifier`. */
export interface BearerAuth {
  readonly issuer: string;
  readonly audience: string;
  readonly jwksUrl?: string;
  readonly keysCooldownMs: number;
  /** `cognito` only (absent for the default, rfc9068). */
  readonly profile?: AuthProfile;
  /** `cognito` only: the scope checked instead of the audience. */
  readonly requiredScope?: string;
}

/** The settings {@link bearerAuthEnv} parsed, or undefined without AUTH_ISSUER_URL. */
export function bearerAuthOf(parsed: {
  readonly AUTH_ISSUER_URL?: string | undefined;
  readonly AUTH_AUDIENCE: string;
  readonly AUTH_JWKS_URL?: string | undefined;
  readonly AUTH_KEYS_COOLDOWN_MS: number;
  readonly AUTH_PROFILE?: AuthProfile;
  readonly AUTH_REQUIRED_SCOPE?: string | undefined;
}): BearerAuth | undefined {
  if (parsed.AUTH_ISSUER_URL === undefined) return undefined;
  if (parsed.AUTH_PROFILE === 'cognito' && parsed.AUTH_REQUIRED_SCOPE === undefined)
    throw new Error(
      `AUTH_REQUIRED_SCOPE is required when AUTH_PROFILE=cognito (Cognito access tokens have no aud: the scope this API requires, e.g. ${parsed.AUTH_AUDIENCE}/<scope>)`,
    );
  return {
    issuer: parsed.AUTH_ISSUER_URL,
    audience: parsed.AUTH_AUDIENCE,
    ...(parsed.AUTH_JWKS_URL === undefined ? {} : { jwksUrl: parsed.AUTH_JWKS_URL }),
    keysCooldownMs: parsed.AUTH_KEYS_COOLDOWN_MS,
    ...(parsed.AUTH_PROFILE === 'cognito'
      ? { profile: 'cognito' as const, requiredScope: parsed.AUTH_REQUIRED_SCOPE }
      : {}),
  };
}
