import Type from 'typebox';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import rateLimit from '@fastify/rate-limit';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import Fastify from 'fastify';
import type {
  FastifyBaseLogger,
  FastifyError,
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
  RouteOptions,
} from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { serveMetrics, setHttpRoute } from '@comms/telemetry';
import { AppError, toAppError, toProblem } from './errors.js';
import type { FieldViolation } from './errors.js';
import { undecodableQueryError, unstorableTextError } from './text.js';

/** A fastify instance whose route schemas are TypeBox types. */
export type HttpApp = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

/** What `/readyz` asks: each check resolves when its dependency answers. */
export type ReadinessChecks = Record<string, () => Promise<void>>;

/** What `/readyz` answers, and a service handle's `ready()` resolves with. */
export interface Readiness {
  readonly status: 'ready' | 'not ready';
  /** Each check by name: `ok`, or what is missing. */
  readonly checks: Readonly<Record<string, string>>;
}

/** Runs readiness checks concurrently; each one's error message says what is missing. */
export async function checkReadiness(checks: ReadinessChecks): Promise<Readiness> {
  const results = await Promise.all(
    Object.entries(checks).map(async ([name, check]) => {
      try {
        await check();
        return [name, 'ok'] as const;
      } catch (error) {
        return [name, error instanceof Error ? error.message : 'failed'] as const;
      }
    }),
  );
  const ready = results.every(([, result]) => result === 'ok');
  return { status: ready ? 'ready' : 'not ready', checks: Object.fromEntries(results) };
}

/**
 * Bearer access tokens at a service's own API (see {@link HttpAppOptions.bearerAuth}).
 * `P` is what `authenticate` says the caller is (a principal).
 */
export interface BearerAuthOptions<P> {
  /** The `bearerAuth` scheme's description in the document: say when it applies. */
  readonly description: string;
  /**
   * Whether a token is needed (the service runs with an issuer). While it is
   * false, routes that name the scheme also list the empty requirement, and
   * `authenticate` does not run.
   */
  readonly required: boolean;
  /**
   * Runs for each request to a route whose schema names {@link BEARER_SECURITY},
   * while `required` is true, as the request arrives (before its body is read
   * or a stream opens), with its `Authorization` header and the request (for
   * a check that depends on the method). It resolves with who is calling, or
   * throws (UNAUTHENTICATED, PERMISSION_DENIED) and the request is answered
   * with that problem document. The app's `principalOf(request)` reads what
   * it resolved with.
   */
  readonly authenticate?: (
    authorization: string | undefined,
    request: FastifyRequest,
  ) => Promise<P | undefined>;
}

/** What {@link createHttpApp} adds to the app: who each request authenticated as. */
export interface PrincipalAccess<P> {
  /**
   * What `bearerAuth.authenticate` resolved with for this request; undefined
   * when it did not run (a public route, authentication off) or resolved so.
   */
  principalOf(request: FastifyRequest): P | undefined;
}

/** Options for {@link createHttpApp}. */
export interface HttpAppOptions<P = never> {
  readonly title: string;
  readonly version?: string;
  readonly description?: string;
  readonly logger: FastifyBaseLogger;
  readonly readiness: ReadinessChecks;
  /** Largest accepted body in bytes. Default 64 KiB. */
  readonly bodyLimit?: number;
  /**
   * Requests per minute one client (by address) may make before it gets
   * 429 with `Retry-After`; probes, `/metrics` and `/docs` are not counted.
   * Default: no limit. Public services set it.
   */
  readonly rateLimitPerMinute?: number;
  /**
   * Declares the bearer security scheme (`bearerAuth`: OAuth 2.0 access
   * tokens, JWT) in the OpenAPI document, with this description (say when
   * it applies). Routes that need a token name it with
   * `schema.security: BEARER_SECURITY`, and their document gets 401 and 403.
   * While `required` is false (the service runs without an issuer) those
   * routes also list the empty requirement: a token is optional then, which
   * is what they do, and what a fuzzer's auth check should expect. With
   * `authenticate`, those routes are authenticated as the document says.
   */
  readonly bearerAuth?: BearerAuthOptions<P>;
}

/** `schema.security` of a route that needs a bearer access token (see {@link HttpAppOptions.bearerAuth}). */
export const BEARER_SECURITY: readonly Record<string, readonly string[]>[] = [{ bearerAuth: [] }];

// ajv-formats is CommonJS; its default export arrives wrapped under ESM.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ??
  addFormatsModule) as (ajv: Ajv) => Ajv;

function makeAjv(coerceTypes: boolean): Ajv {
  // Bodies are strict: no coercion ("123" stays a string), unknown fields
  // rejected rather than silently removed. Query and path parameters arrive
  // as text and are coerced to their declared types.
  const ajv = new Ajv({
    strict: false,
    allErrors: false,
    coerceTypes,
    removeAdditional: false,
    useDefaults: true,
    // Gives each error its schema, so a schema's `errorMessage` can say what was expected.
    verbose: true,
  });
  return addFormats(ajv);
}

function violationsOf(error: FastifyError): FieldViolation[] {
  return (error.validation ?? []).map((issue) => {
    const base = `${error.validationContext ?? 'body'}${issue.instancePath.replace(/\//g, '.')}`;
    const params = issue.params as { missingProperty?: string; additionalProperty?: string };
    if (params.missingProperty !== undefined) {
      return { field: `${base}.${params.missingProperty}`, message: 'is required' };
    }
    if (params.additionalProperty !== undefined) {
      return { field: `${base}.${params.additionalProperty}`, message: 'is not a known field' };
    }
    // A pattern says little to a reader; a schema may say it in words.
    const custom = (issue as { parentSchema?: { errorMessage?: unknown } }).parentSchema
      ?.errorMessage;
    return {
      field: base,
      message: typeof custom === 'string' ? custom : (issue.message ?? 'is invalid'),
    };
  });
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The RFC 9457 problem document every error response carries, for route response schemas. */
export const ProblemSchema = Type.Object({
  type: Type.String(),
  title: Type.String(),
  status: Type.Integer(),
  detail: Type.String(),
  code: Type.String(),
  instance: Type.Optional(Type.String()),
  errors: Type.Optional(Type.Array(Type.Object({ field: Type.String(), message: Type.String() }))),
});

/** The media type of every error answer (RFC 9457). */
const PROBLEM_MEDIA_TYPE = 'application/problem+json';

/** What each error status a route documents means, as the document says it. */
const ERROR_DESCRIPTIONS: Readonly<Record<number, string>> = {
  400: 'The request is invalid; `errors` names each field that is',
  404: 'Not found',
  409: 'In conflict with the current state (a stale version, a duplicate)',
  401: 'No valid bearer access token; WWW-Authenticate says what was wrong',
  403: 'The access token lacks a permission this needs; `detail` names it',
  413: 'The body is larger than the service accepts',
  415: 'The body is not JSON; send Content-Type: application/json',
  422: 'Not allowed in the current state',
  429: 'Too many requests from this client; retry after Retry-After seconds',
  503: 'A dependency is unavailable; retry after Retry-After seconds',
};

/** Methods whose requests may carry a body that fastify reads, and may refuse. */
const BODY_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Makes the document of a route that declares its responses say what
 * service-kit answers on it too: any route
 * may refuse its request (400, the request guard reads every part of every
 * request) or find a dependency away (503); a route that reads a body may
 * refuse its size (413) or media type (415); with a rate limit, any route
 * may answer 429; a route that declares `security` may refuse the token
 * (401) or its permissions (403). Every status a route gives {@link ProblemSchema} is
 * documented as `application/problem+json`, which is what is sent.
 */
function documentErrors(
  route: RouteOptions,
  options: { readonly rateLimited: boolean; readonly tokenOptional: boolean },
): void {
  const schema = route.schema;
  // A route that documents no responses (a stream) keeps the document's
  // default answer; declaring errors alone would hide its success.
  if (schema?.hide === true || schema?.response === undefined) return;
  const response: Record<string, unknown> = {
    ...(schema?.response as Record<string, unknown> | undefined),
  };
  const readsBody = [route.method].flat().some((method) => BODY_METHODS.has(method));
  const security = schema.security ?? [];
  const secured = security.length > 0;
  for (const status of [
    400,
    ...(secured ? [401, 403] : []),
    503,
    ...(readsBody ? [413, 415] : []),
    ...(options.rateLimited ? [429] : []),
  ])
    response[status] ??= ProblemSchema;
  for (const [status, value] of Object.entries(response)) {
    if (value !== ProblemSchema) continue;
    response[status] = {
      description: ERROR_DESCRIPTIONS[Number(status)] ?? 'A problem document (RFC 9457)',
      content: { [PROBLEM_MEDIA_TYPE]: { schema: ProblemSchema } },
    };
  }
  route.schema = {
    ...schema,
    response,
    ...(secured && options.tokenOptional ? { security: [...security, {}] } : {}),
  };
}

/** The methods that have a route at this URL's path (HEAD with every GET). */
function allowedMethods(app: HttpApp, url: string): string[] {
  const path = pathOf(url);
  return ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'].filter(
    (method) => app.findRoute({ method, url: path }) !== null,
  );
}

const pathOf = (url: string): string => url.split('?', 1)[0] ?? url;

/** Answers fastify or Node give before a route runs, as problem documents. */
const EARLY = {
  400: { title: 'Bad request', reason: 'Bad Request', code: 'INVALID_ARGUMENT' },
  408: { title: 'Timed out', reason: 'Request Timeout', code: 'DEADLINE_EXCEEDED' },
  431: {
    title: 'Request headers too large',
    reason: 'Request Header Fields Too Large',
    code: 'RESOURCE_EXHAUSTED',
  },
} as const;

function earlyProblem(status: keyof typeof EARLY, detail: string, instance?: string): string {
  return JSON.stringify({
    type: 'about:blank',
    title: EARLY[status].title,
    status,
    detail,
    code: EARLY[status].code,
    ...(instance === undefined ? {} : { instance }),
  });
}

/** Paths a rate limit never counts: probes, scrapes, the API description. */
const UNLIMITED = /^\/(healthz|readyz|metrics|docs)(\/|\?|$)/;

/**
 * Builds a fastify instance with the house conventions, ready for routes:
 * strict validation, RFC 9457 problem documents for every error (never a
 * stack trace or SQL), protective response headers, `/healthz`, `/readyz`,
 * `/metrics` (Prometheus), and the OpenAPI document at `/docs/json` with a
 * browsable UI at `/docs`.
 */
export async function createHttpApp<P = never>(
  options: HttpAppOptions<P>,
): Promise<HttpApp & PrincipalAccess<P>> {
  const app = Fastify({
    loggerInstance: options.logger,
    bodyLimit: options.bodyLimit ?? 64 * 1024,
    return503OnClosing: true,
    forceCloseConnections: false,
    // A path that is not percent-encoded UTF-8 (`/users/%ED%A0%80`): a problem document too.
    frameworkErrors: (error, request, reply) => {
      void (reply as FastifyReply)
        .status(400)
        .type('application/problem+json')
        .send(earlyProblem(400, error.message, request.url));
    },
    // Requests Node's parser refuses (a NUL in a header, a broken request line).
    clientErrorHandler: (error: Error & { code?: string }, socket) => {
      if (error.code === 'ECONNRESET' || !socket.writable) {
        socket.destroy(error);
        return;
      }
      const status =
        error.code === 'HPE_HEADER_OVERFLOW'
          ? 431
          : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
            ? 408
            : 400;
      const body = earlyProblem(
        status,
        status === 408
          ? 'the request did not arrive in time'
          : `the request is not valid HTTP/1.1 (${error.code ?? 'parse error'}); header values may not contain NUL or other control characters`,
      );
      socket.end(
        `HTTP/1.1 ${status} ${EARLY[status].reason}\r\n` +
          `content-type: application/problem+json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
      );
    },
  }).withTypeProvider<TypeBoxTypeProvider>();

  // JSON bodies are decoded strictly: bytes that are not UTF-8 would otherwise
  // become U+FFFD unnoticed. The JSON itself is read by fastify's own parser.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    let text: string;
    try {
      text = utf8.decode(body as Buffer);
    } catch {
      done(new AppError('INVALID_ARGUMENT', 'the body is not UTF-8 text; send JSON as UTF-8'));
      return;
    }
    void parseJson(request, text, done);
  });

  // Text PostgreSQL cannot store (NUL, an unpaired surrogate) is refused in
  // every part of every request, before the route's schema, naming the field.
  app.addHook('preValidation', (request, _reply, done) => {
    const refused =
      undecodableQueryError(request.url) ??
      unstorableTextError({
        params: request.params,
        querystring: request.query,
        headers: request.headers,
        body: request.body,
      });
    done(refused);
  });

  const strict = makeAjv(false);
  const coercing = makeAjv(true);
  app.setValidatorCompiler(({ schema, httpPart }) =>
    (httpPart === 'body' ? strict : coercing).compile(schema),
  );

  // Protective headers on every answer. The API speaks JSON only, so its
  // content policy allows nothing; the OpenAPI UI under /docs runs its own
  // scripts and styles and keeps the browser's default.
  app.addHook('onSend', (request, reply, payload, done) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('x-frame-options', 'DENY');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('cross-origin-resource-policy', 'same-origin');
    if (!request.url.startsWith('/docs'))
      reply.header('content-security-policy', "default-src 'none'; frame-ancestors 'none'");
    done(null, payload);
  });

  // Name the request's server span and metrics after the route, not the URL.
  app.addHook('onRequest', (request, _reply, done) => {
    if (request.routeOptions.url !== undefined) setHttpRoute(request.routeOptions.url);
    done();
  });

  // A path that exists under other methods is 405, naming them (RFC 9110);
  // any other is 404.
  const notFound = (request: FastifyRequest, reply: FastifyReply) => {
    const allowed = allowedMethods(app, request.url);
    if (allowed.length > 0) {
      const problem = {
        type: 'about:blank',
        title: 'Method not allowed',
        status: 405,
        detail: `${request.method} is not a method of ${pathOf(request.url)}; it allows ${allowed.join(', ')}`,
        code: 'UNIMPLEMENTED',
        instance: request.url,
      };
      return reply
        .status(405)
        .header('allow', allowed.join(', '))
        .type(PROBLEM_MEDIA_TYPE)
        .send(problem);
    }
    const problem = toProblem(
      new AppError('NOT_FOUND', `no route ${request.method} ${request.url}`),
      request.url,
    );
    return reply.status(404).type(PROBLEM_MEDIA_TYPE).send(problem);
  };

  app.setErrorHandler((error: FastifyError, request, reply) => {
    // No route: whatever fastify refused on the way (a body without a
    // Content-Type) matters less than there being nothing to send it to.
    if (request.is404) return notFound(request, reply);
    let appError: AppError;
    if (error instanceof AppError) {
      appError = error;
    } else if (error.validation !== undefined) {
      const violations = violationsOf(error);
      const first = violations[0];
      appError = new AppError(
        'INVALID_ARGUMENT',
        first === undefined ? 'the request is invalid' : `${first.field} ${first.message}`,
        violations,
      );
    } else if (
      typeof error.statusCode === 'number' &&
      error.statusCode >= 400 &&
      error.statusCode < 500
    ) {
      // fastify's own client errors: body too large, bad JSON, unsupported media type.
      const problem = {
        type: 'about:blank',
        title: error.code ?? 'Bad request',
        status: error.statusCode,
        detail: error.message,
        code: error.statusCode === 413 ? 'RESOURCE_EXHAUSTED' : 'INVALID_ARGUMENT',
        instance: request.url,
      };
      return reply.status(error.statusCode).type('application/problem+json').send(problem);
    } else {
      appError = toAppError(error);
    }
    const problem = toProblem(appError, request.url);
    if (problem.status >= 500) request.log.error({ err: error }, 'request failed');
    // A dependency is away: worth retrying, soon.
    if (problem.status === 503 && !reply.hasHeader('retry-after')) reply.header('retry-after', '1');
    return reply.status(problem.status).type('application/problem+json').send(problem);
  });

  app.setNotFoundHandler(notFound);

  const rateLimited = options.rateLimitPerMinute !== undefined && options.rateLimitPerMinute > 0;
  if (rateLimited) {
    await app.register(rateLimit, {
      max: options.rateLimitPerMinute,
      timeWindow: 60_000,
      allowList: (request) => UNLIMITED.test(request.url),
      errorResponseBuilder: (_request, context) =>
        new AppError(
          'RESOURCE_EXHAUSTED',
          `more than ${context.max} requests a minute from this client; retry in ${context.after}`,
        ),
    });
  }

  // The routes that declare the bearer scheme are the ones authenticated, so
  // the document and the behaviour cannot disagree; on request, so a caller
  // without a token learns nothing about the body it would need.
  const principals = new WeakMap<FastifyRequest, P>();
  const authenticate =
    options.bearerAuth?.required === true ? options.bearerAuth.authenticate : undefined;
  if (authenticate !== undefined) {
    app.addHook('onRequest', async (request) => {
      const security = (request.routeOptions.schema as { security?: unknown } | undefined)
        ?.security;
      if (!Array.isArray(security) || security.length === 0) return;
      const principal = await authenticate(request.headers.authorization, request);
      if (principal !== undefined) principals.set(request, principal);
    });
  }
  const principalOf = (request: FastifyRequest): P | undefined => principals.get(request);

  // Every documented route says what service-kit itself may answer, and
  // that errors come as problem documents; registered before the routes.
  const tokenOptional = options.bearerAuth?.required === false;
  app.addHook('onRoute', (route) => documentErrors(route, { rateLimited, tokenOptional }));

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: options.title,
        version: options.version ?? '1.0.0',
        ...(options.description === undefined ? {} : { description: options.description }),
      },
      ...(options.bearerAuth === undefined
        ? {}
        : {
            components: {
              securitySchemes: {
                bearerAuth: {
                  type: 'http',
                  scheme: 'bearer',
                  bearerFormat: 'JWT',
                  description: options.bearerAuth.description,
                },
              },
            },
          }),
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  // Probes poll often: log them only when something is wrong.
  app.get('/healthz', { logLevel: 'warn', schema: { hide: true } }, () => ({ status: 'ok' }));
  // Prometheus scrapes this port; 404 when metrics are off.
  app.get('/metrics', { logLevel: 'warn', schema: { hide: true } }, (request, reply) => {
    reply.hijack();
    if (!serveMetrics(request.raw, reply.raw)) {
      reply.raw.writeHead(404, { 'content-type': 'application/problem+json' });
      reply.raw.end(
        JSON.stringify(
          toProblem(
            new AppError('NOT_FOUND', 'metrics are off (OTEL_METRICS_EXPORTER has no prometheus)'),
            '/metrics',
          ),
        ),
      );
    }
  });
  app.get('/readyz', { logLevel: 'warn', schema: { hide: true } }, async (_request, reply) => {
    const { status, checks } = await checkReadiness(options.readiness);
    const ready = status === 'ready';
    return reply.status(ready ? 200 : 503).send({ status, checks });
  });

  // A decoration, so plugins see it too (and fastify refuses a second one).
  app.decorate('principalOf', principalOf);
  return app as HttpApp & PrincipalAccess<P>;
}
