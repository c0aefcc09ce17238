import Type from 'typebox';
import type { TSchema } from 'typebox';

/**
 * The parts of Copilot's manifest specification this project uses, strict:
 * an unknown key is an error (Copilot itself would silently ignore a typo
 * such as `netwrok`). Extend these when a manifest needs a new field.
 */

const Duration = Type.String({ pattern: '^[0-9]+(ms|s|m|h)$' });
const Strict = <T extends Record<string, TSchema>>(properties: T) =>
  Type.Object(properties, { additionalProperties: false });

/** Service Connect: `true`, or an alias that other services resolve. */
const Connect = Type.Union([
  Type.Boolean(),
  Strict({
    alias: Type.String({
      pattern: '^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$',
      description: 'a DNS label: lowercase letters, digits and hyphens, starting with a letter',
    }),
  }),
]);

const Image = Strict({
  build: Type.Union([
    Type.String(),
    Strict({
      dockerfile: Type.String({ minLength: 1 }),
      context: Type.Optional(Type.String()),
      target: Type.Optional(Type.String()),
      args: Type.Optional(Type.Record(Type.String(), Type.String())),
    }),
  ]),
  port: Type.Integer({ minimum: 1, maximum: 65535 }),
  healthcheck: Type.Optional(
    Strict({
      command: Type.Array(Type.String(), { minItems: 2 }),
      interval: Type.Optional(Duration),
      retries: Type.Optional(Type.Integer({ minimum: 1 })),
      timeout: Type.Optional(Duration),
      start_period: Type.Optional(Duration),
    }),
  ),
});

/** Auto scaling: a task range and the targets that move the count within it. */
const scalingFields = {
  range: Type.String({ pattern: '^[0-9]+-[0-9]+$' }),
  cooldown: Type.Optional(Strict({ in: Type.Optional(Duration), out: Type.Optional(Duration) })),
  cpu_percentage: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
  memory_percentage: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
};

/** `count` of a Backend Service: a fixed count, or a range scaled on CPU or memory. */
const Count = Type.Union([Type.Integer({ minimum: 0 }), Strict(scalingFields)]);

/**
 * `count` of a Load Balanced Web Service: may also scale on the load
 * balancer's requests per task per minute (`requests`), which a service
 * without a load balancer has no metric for.
 */
const WebCount = Type.Union([
  Type.Integer({ minimum: 0 }),
  Strict({ ...scalingFields, requests: Type.Optional(Type.Integer({ minimum: 1 })) }),
]);

/** A value exported by an environment addon, read at deploy time. */
const FromCfn = Strict({ from_cfn: Type.String({ minLength: 1 }) });
const Variables = Type.Record(
  Type.String({ pattern: '^[A-Z_][A-Z0-9_]*$' }),
  Type.Union([Type.String(), Type.Number(), Type.Boolean(), FromCfn]),
);
const Secrets = Type.Record(
  Type.String({ pattern: '^[A-Z_][A-Z0-9_]*$' }),
  Type.Union([Type.String({ minLength: 1 }), FromCfn]),
);

const serviceFields = (count: TSchema) => ({
  image: Image,
  cpu: Type.Optional(Type.Integer({ minimum: 256 })),
  memory: Type.Optional(Type.Integer({ minimum: 512 })),
  platform: Type.Optional(Type.Union([Type.Literal('linux/x86_64'), Type.Literal('linux/arm64')])),
  count: Type.Optional(count),
  exec: Type.Optional(Type.Boolean()),
  network: Strict({ connect: Connect }),
  variables: Type.Optional(Variables),
  secrets: Type.Optional(Secrets),
});

/** What `environments.<name>` may override in a service manifest. */
const serviceOverride = (count: TSchema) =>
  Strict({
    cpu: Type.Optional(Type.Integer({ minimum: 256 })),
    memory: Type.Optional(Type.Integer({ minimum: 512 })),
    count: Type.Optional(count),
    variables: Type.Optional(Variables),
    secrets: Type.Optional(Secrets),
  });

const HttpHealthcheck = Strict({
  path: Type.String({ pattern: '^/' }),
  healthy_threshold: Type.Optional(Type.Integer({ minimum: 2, maximum: 10 })),
  unhealthy_threshold: Type.Optional(Type.Integer({ minimum: 2, maximum: 10 })),
  interval: Type.Optional(Duration),
  timeout: Type.Optional(Duration),
});

export const MANIFEST_SCHEMAS: Record<string, TSchema> = {
  'Backend Service': Strict({
    name: Type.String({ minLength: 1 }),
    type: Type.Literal('Backend Service'),
    ...serviceFields(Count),
    environments: Type.Optional(Type.Record(Type.String(), serviceOverride(Count))),
  }),
  'Load Balanced Web Service': Strict({
    name: Type.String({ minLength: 1 }),
    type: Type.Literal('Load Balanced Web Service'),
    http: Strict({
      path: Type.String({ pattern: '^/' }),
      healthcheck: Type.Optional(HttpHealthcheck),
    }),
    ...serviceFields(WebCount),
    environments: Type.Optional(Type.Record(Type.String(), serviceOverride(WebCount))),
  }),
  Environment: Strict({
    name: Type.String({ minLength: 1 }),
    type: Type.Literal('Environment'),
    network: Type.Optional(
      Strict({ vpc: Type.Optional(Strict({ flow_logs: Type.Optional(Type.Boolean()) })) }),
    ),
    observability: Type.Optional(Strict({ container_insights: Type.Optional(Type.Boolean()) })),
  }),
};
