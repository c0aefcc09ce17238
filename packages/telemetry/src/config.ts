/**
 * What `startTelemetry` switches on, read from the standard OpenTelemetry
 * variables plus this project's `TELEMETRY_SPANS_DIR`. Anything unknown is an error at
 * startup that names the variable, never a silent fallback.
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
}

type Env = Readonly<Record<string, string | undefined>>;

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

  return {
    disabled,
    traceExporters,
    metricExporters,
    otlpProtocol: protocol,
    spansDir: set(env['TELEMETRY_SPANS_DIR']) ? env['TELEMETRY_SPANS_DIR'] : undefined,
  };
}
