/**
 * What `startTelemetry` switches on, read from the standard OpenTelemetry
 * variables plus this project's `TELEMETRY_SPANS_DIR` and `TELEMETRY_DB_SPANS`. Anything unknown is an error at
 * startup that names the variable, never a silent fallback.
 *
 * Since SDK 3.x the tracer provider, the batch span processor and the
 * periodic metric reader read no variables themselves (only the OTLP
 * exporters and the resource detector still do), so the sampler, batching
 * and push interval settings are read here and passed in as options.
 */

/** Where finished spans go. */
export type TraceExporterName = 'otlp' | 'console';
/** Where metrics go. `prometheus` is pulled from `GET /metrics` on the service's HTTP port. */
export type MetricExporterName = 'prometheus' | 'otlp' | 'console';

/** Telemetry settings of one process. */
export interface TelemetryConfig {
  /** `OTEL_SDK_DISABLED=true`: nothing is set up, no spans, no `/metrics`. */
  readonly disabled: boolean;
  readonly traceExporters: readonly TraceExporterName[];
  readonly metricExporters: readonly MetricExporterName[];
  /** `OTEL_EXPORTER_OTLP_PROTOCOL` (or the per-signal variable). */
  readonly otlpProtocol: 'http/protobuf' | 'http/json';
  /** `TELEMETRY_SPANS_DIR`: every span is also appended, as one JSON line, to a file there. */
  readonly spansDir: string | undefined;
  /**
   * `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG`. Unset, it is
   * `parentbased_always_on` when spans go somewhere (an exporter or
   * `TELEMETRY_SPANS_DIR`) and `always_off` when they would go nowhere:
   * spans are then made but not recorded, so trace context still flows and
   * log lines still carry trace ids, at a fraction of the cost.
   */
  readonly sampler: SamplerConfig;
  /**
   * `TELEMETRY_DB_SPANS=on`: a CLIENT span (and a duration sample) for every
   * PostgreSQL statement. Off by default: a transaction of six statements
   * made six spans per request, the largest part of telemetry's cost.
   */
  readonly dbSpans: boolean;
  /** `OTEL_BSP_*`: batching of OTLP span export; unset fields keep the SDK's defaults. */
  readonly spanBatch: SpanBatchConfig;
  /** `OTEL_METRIC_EXPORT_*`: pushing metrics (OTLP, console); unset fields keep the SDK's defaults. */
  readonly metricExport: MetricExportConfig;
}

/** The samplers of the specification that the SDK ships. */
export type SamplerName = (typeof SAMPLERS)[number];

/** Which spans are recorded and exported. */
export interface SamplerConfig {
  readonly name: SamplerName;
  /** The share of root traces kept by the `traceidratio` samplers, 0 to 1. */
  readonly ratio: number;
}

/** Options of the batch span processor, in milliseconds and spans. */
export interface SpanBatchConfig {
  readonly scheduledDelayMillis?: number;
  readonly exportTimeoutMillis?: number;
  readonly maxQueueSize?: number;
  readonly maxExportBatchSize?: number;
}

/** Options of the periodic metric reader, in milliseconds. */
export interface MetricExportConfig {
  readonly exportIntervalMillis?: number;
  readonly exportTimeoutMillis?: number;
}

const SAMPLERS = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
] as const;

/** An environment to read settings from. */
export type Env = Readonly<Record<string, string | undefined>>;

/**
 * The process's own environment: the one place the telemetry package
 * reaches for it. The OTLP exporters and the resource detector read their
 * `OTEL_*` variables from the same object, so everything startTelemetry
 * configures comes from one place.
 */
export function processEnv(): Env {
  return process.env;
}

const set = (value: string | undefined): value is string =>
  value !== undefined && value.trim() !== '';

function list<T extends string>(
  env: Env,
  name: string,
  allowed: readonly T[],
  fallback: readonly T[],
): T[] {
  const raw = env[name];
  if (!set(raw)) return [...fallback];
  const items = raw.split(',').map((item) => item.trim().toLowerCase());
  if (items.includes('none')) {
    if (items.length > 1) throw new Error(`${name}: 'none' cannot be combined, got '${raw}'`);
    return [];
  }
  for (const item of items) {
    if (!(allowed as readonly string[]).includes(item))
      throw new Error(`${name} must be a list of ${[...allowed, 'none'].join(', ')}; got '${raw}'`);
  }
  return [...new Set(items as T[])];
}

function sampler(env: Env, exported: boolean): SamplerConfig {
  const raw = env['OTEL_TRACES_SAMPLER'];
  const fallback = exported ? 'parentbased_always_on' : 'always_off';
  const name = set(raw) ? raw.trim().toLowerCase() : fallback;
  if (!(SAMPLERS as readonly string[]).includes(name))
    throw new Error(`OTEL_TRACES_SAMPLER must be one of ${SAMPLERS.join(', ')}; got '${raw}'`);
  const arg = env['OTEL_TRACES_SAMPLER_ARG'];
  if (!name.endsWith('traceidratio') || !set(arg)) return { name: name as SamplerName, ratio: 1 };
  const ratio = Number(arg);
  if (!Number.isFinite(ratio) || ratio < 0 || ratio > 1)
    throw new Error(`OTEL_TRACES_SAMPLER_ARG must be a number from 0 to 1; got '${arg}'`);
  return { name: name as SamplerName, ratio };
}

function metricExport(env: Env): MetricExportConfig {
  const config = counts(
    env,
    {
      exportIntervalMillis: 'OTEL_METRIC_EXPORT_INTERVAL',
      exportTimeoutMillis: 'OTEL_METRIC_EXPORT_TIMEOUT',
    },
    1,
  );
  const { exportIntervalMillis: interval, exportTimeoutMillis: timeout } = config;
  if (interval !== undefined && timeout !== undefined && timeout > interval)
    throw new Error(
      `OTEL_METRIC_EXPORT_TIMEOUT must not exceed OTEL_METRIC_EXPORT_INTERVAL; got ${String(timeout)} and ${String(interval)}`,
    );
  return config;
}

/** The named variables that are set, as whole numbers of at least `min`, under their option names. */
function counts<K extends string>(
  env: Env,
  names: Readonly<Record<K, string>>,
  min: number,
): Partial<Record<K, number>> {
  const out: Partial<Record<K, number>> = {};
  for (const [option, name] of Object.entries(names) as [K, string][]) {
    const raw = env[name];
    if (!set(raw)) continue;
    const value = Number(raw);
    if (!Number.isSafeInteger(value) || value < min)
      throw new Error(`${name} must be a whole number of at least ${String(min)}; got '${raw}'`);
    out[option] = value;
  }
  return out;
}

/**
 * Reads the telemetry settings.
 *
 * One deliberate difference from the OpenTelemetry defaults: when
 * `OTEL_TRACES_EXPORTER` / `OTEL_METRICS_EXPORTER` are unset, OTLP is used
 * only if an OTLP endpoint is configured. A plain `npm start` then makes no
 * outbound calls and prints nothing; metrics are still served at `/metrics`.
 */
export function telemetryConfigFromEnv(env: Env): TelemetryConfig {
  const disabled = env['OTEL_SDK_DISABLED']?.trim().toLowerCase() === 'true';
  const endpoint = (signal: 'TRACES' | 'METRICS') =>
    set(env['OTEL_EXPORTER_OTLP_ENDPOINT']) || set(env[`OTEL_EXPORTER_OTLP_${signal}_ENDPOINT`]);

  const traceExporters = list<TraceExporterName>(
    env,
    'OTEL_TRACES_EXPORTER',
    ['otlp', 'console'],
    endpoint('TRACES') ? ['otlp'] : [],
  );
  const metricExporters = list<MetricExporterName>(
    env,
    'OTEL_METRICS_EXPORTER',
    ['prometheus', 'otlp', 'console'],
    endpoint('METRICS') ? ['prometheus', 'otlp'] : ['prometheus'],
  );

  const protocolName = set(env['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL'])
    ? 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL'
    : 'OTEL_EXPORTER_OTLP_PROTOCOL';
  const protocol = env[protocolName]?.trim() || 'http/protobuf';
  if (protocol !== 'http/protobuf' && protocol !== 'http/json') {
    throw new Error(
      `${protocolName} must be http/protobuf or http/json (this project does not ship the gRPC exporter); got '${protocol}'`,
    );
  }

  const spansDir = set(env['TELEMETRY_SPANS_DIR']) ? env['TELEMETRY_SPANS_DIR'] : undefined;
  const dbSpans = env['TELEMETRY_DB_SPANS']?.trim().toLowerCase() ?? 'off';
  if (dbSpans !== 'on' && dbSpans !== 'off' && dbSpans !== '')
    throw new Error(`TELEMETRY_DB_SPANS must be on or off; got '${env['TELEMETRY_DB_SPANS']}'`);

  return {
    disabled,
    traceExporters,
    metricExporters,
    otlpProtocol: protocol,
    spansDir,
    sampler: sampler(env, traceExporters.length > 0 || spansDir !== undefined),
    dbSpans: dbSpans === 'on',
    spanBatch: {
      ...counts(env, { scheduledDelayMillis: 'OTEL_BSP_SCHEDULE_DELAY' }, 0),
      ...counts(
        env,
        {
          exportTimeoutMillis: 'OTEL_BSP_EXPORT_TIMEOUT',
          maxQueueSize: 'OTEL_BSP_MAX_QUEUE_SIZE',
          maxExportBatchSize: 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE',
        },
        1,
      ),
    },
    metricExport: metricExport(env),
  };
}
