/**
 * The SDK half of the telemetry package: `startTelemetry` sets up tracing,
 * metrics and the automatic instrumentation of `node:http`, `fetch` and `pg`
 * for one process.
 *
 * Call it before anything else loads: the instrumentations patch modules as
 * they are first required, so a service's `server.ts` starts telemetry and
 * only then imports the rest with `await import(...)`. gRPC and Kafka spans
 * are made by the project's own adapters (service-kit, packages/kafka) and
 * need no patching.
 */
import { diag, DiagConsoleLogger, DiagLogLevel, metrics } from '@opentelemetry/api';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import {
  ConsoleMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import type { MetricReader } from '@opentelemetry/sdk-metrics';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ConsoleSpanExporter,
  ParentBasedSampler,
  SimpleSpanProcessor,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import type { Sampler, SpanProcessor } from '@opentelemetry/sdk-trace';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { OTLPMetricExporter as OtlpJsonMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as OtlpProtoMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPTraceExporter as OtlpJsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OtlpProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import { processEnv, telemetryConfigFromEnv } from './config.js';
import type { SamplerConfig, TelemetryConfig } from './config.js';
import { JsonLinesSpanExporter } from './json-lines-exporter.js';
import { registerTracerProvider } from './register.js';
import { setMetricsHandler } from './state.js';

/** Requests that are never traced or counted: probes and scrapes. */
const UNOBSERVED_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

/** A running telemetry setup. */
export interface Telemetry {
  readonly config: TelemetryConfig;
  /** Ends and exports what is still buffered; call it last when the process stops. */
  shutdown(): Promise<void>;
}

const DIAG_LEVELS: Record<string, DiagLogLevel> = {
  none: DiagLogLevel.NONE,
  error: DiagLogLevel.ERROR,
  warn: DiagLogLevel.WARN,
  info: DiagLogLevel.INFO,
  debug: DiagLogLevel.DEBUG,
  verbose: DiagLogLevel.VERBOSE,
  all: DiagLogLevel.ALL,
};

function createSampler({ name, ratio }: SamplerConfig): Sampler {
  switch (name) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(ratio);
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) });
    default: {
      const unknown: never = name;
      throw new Error(`no sampler named '${String(unknown)}'`);
    }
  }
}

/**
 * Starts telemetry for a service, configured by the standard `OTEL_*`
 * variables (see `docs/observability.md`). Tracing always runs, so trace
 * context flows between the services and log lines carry trace ids; spans
 * leave the process only when an exporter is configured. Throws, naming the
 * variable, when a setting is invalid.
 */
export function startTelemetry(options: { readonly serviceName: string }): Telemetry {
  const env = processEnv();
  const config = telemetryConfigFromEnv(env);
  if (config.disabled) return { config, shutdown: () => Promise.resolve() };

  const level = DIAG_LEVELS[env['OTEL_LOG_LEVEL']?.trim().toLowerCase() ?? 'warn'];
  diag.setLogger(new DiagConsoleLogger(), level ?? DiagLogLevel.WARN);

  // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES override the defaults here.
  const resource = resourceFromAttributes({ [ATTR_SERVICE_NAME]: options.serviceName }).merge(
    detectResources({ detectors: [envDetector] }),
  );
  const named = resource.attributes[ATTR_SERVICE_NAME];
  const serviceName = typeof named === 'string' ? named : options.serviceName;

  const spanProcessors: SpanProcessor[] = [];
  for (const name of config.traceExporters) {
    if (name === 'console')
      spanProcessors.push(new SimpleSpanProcessor({ exporter: new ConsoleSpanExporter() }));
    else
      spanProcessors.push(
        new BatchSpanProcessor({
          ...config.spanBatch,
          exporter:
            config.otlpProtocol === 'http/json'
              ? new OtlpJsonTraceExporter()
              : new OtlpProtoTraceExporter(),
        }),
      );
  }
  if (config.spansDir !== undefined)
    spanProcessors.push(
      // Batched: one append per tenth of a second, not one per span.
      new BatchSpanProcessor({
        exporter: new JsonLinesSpanExporter(config.spansDir, serviceName),
        scheduledDelayMillis: 100,
        maxQueueSize: 8192,
      }),
    );
  const tracerProvider = new TracerProvider({
    resource,
    spanProcessors,
    sampler: createSampler(config.sampler),
  });
  registerTracerProvider(tracerProvider);

  const readers: MetricReader[] = [];
  for (const name of config.metricExporters) {
    if (name === 'prometheus') {
      const prometheus = new PrometheusExporter({ preventServerStart: true });
      setMetricsHandler((request, response) => {
        prometheus.getMetricsRequestHandler(request, response);
      });
      readers.push(prometheus);
    } else {
      readers.push(
        new PeriodicExportingMetricReader({
          ...config.metricExport,
          exporter:
            name === 'console'
              ? new ConsoleMetricExporter()
              : config.otlpProtocol === 'http/json'
                ? new OtlpJsonMetricExporter()
                : new OtlpProtoMetricExporter(),
        }),
      );
    }
  }
  const meterProvider = new MeterProvider({ resource, readers });
  metrics.setGlobalMeterProvider(meterProvider);

  registerInstrumentations({
    tracerProvider,
    meterProvider,
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (request) =>
          UNOBSERVED_PATHS.has((request.url ?? '').split('?')[0] ?? ''),
        // Calls made outside a request (an SDK's own, the exporters') start no trace.
        requireParentforOutgoingSpans: true,
      }),
      new UndiciInstrumentation({ requireParentforSpans: true }),
      ...(config.dbSpans ? [pgInstrumentation()] : []),
    ],
  });

  return {
    config,
    async shutdown() {
      setMetricsHandler(undefined);
      await Promise.allSettled([tracerProvider.shutdown(), meterProvider.shutdown()]);
    },
  };
}

/**
 * A span per PostgreSQL statement (TELEMETRY_DB_SPANS=on). No parameters in
 * spans (they may hold personal data); no spans for background queries (the
 * outbox relay's polls, migrations) or connects.
 */
function pgInstrumentation(): PgInstrumentation {
  return new PgInstrumentation({
    requireParentSpan: true,
    ignoreConnectSpans: true,
    enhancedDatabaseReporting: false,
    // Prepared statements would otherwise be named after their generated
    // statement names; name them by SQL command and database instead.
    requestHook: (span, { query, connection }) => {
      const command = query.text.trim().split(/\s/, 1)[0]?.toUpperCase() ?? '';
      span.updateName(`pg.query:${command}${connection.database ? ` ${connection.database}` : ''}`);
    },
  });
}

export { telemetryConfigFromEnv } from './config.js';
export type { MetricExporterName, TelemetryConfig, TraceExporterName } from './config.js';
export { JsonLinesSpanExporter } from './json-lines-exporter.js';
export type { SpanRecord } from './json-lines-exporter.js';
