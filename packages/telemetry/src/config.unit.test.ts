import { describe, expect, it } from 'vitest';
import { telemetryConfigFromEnv } from './config.js';

describe('telemetryConfigFromEnv', () => {
  it('given nothing, exports no spans and serves metrics for Prometheus only', () => {
    expect(telemetryConfigFromEnv({})).toEqual({
      disabled: false,
      traceExporters: [],
      metricExporters: ['prometheus'],
      otlpProtocol: 'http/protobuf',
      spansDir: undefined,
      // Spans would go nowhere: made for their ids, never recorded.
      sampler: { name: 'always_off', ratio: 1 },
      dbSpans: false,
      spanBatch: {},
      metricExport: {},
    });
  });

  it('records spans by default once they go somewhere, and a span per statement only when asked', () => {
    const parentBased = { name: 'parentbased_always_on', ratio: 1 };
    expect(telemetryConfigFromEnv({ TELEMETRY_SPANS_DIR: '/tmp/spans' }).sampler).toEqual(
      parentBased,
    );
    expect(telemetryConfigFromEnv({ OTEL_TRACES_EXPORTER: 'console' }).sampler).toEqual(
      parentBased,
    );
    expect(telemetryConfigFromEnv({ OTEL_TRACES_SAMPLER: 'always_on' }).sampler.name).toBe(
      'always_on',
    );
    expect(telemetryConfigFromEnv({ TELEMETRY_DB_SPANS: 'on' }).dbSpans).toBe(true);
    expect(telemetryConfigFromEnv({ TELEMETRY_DB_SPANS: 'off' }).dbSpans).toBe(false);
    expect(() => telemetryConfigFromEnv({ TELEMETRY_DB_SPANS: 'yes' })).toThrow(
      /TELEMETRY_DB_SPANS must be on or off; got 'yes'/,
    );
  });

  it('given an OTLP endpoint, sends spans and metrics there as well', () => {
    const config = telemetryConfigFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' });
    expect(config.traceExporters).toEqual(['otlp']);
    expect(config.metricExporters).toEqual(['prometheus', 'otlp']);
    const tracesOnly = telemetryConfigFromEnv({
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces',
    });
    expect(tracesOnly.traceExporters).toEqual(['otlp']);
    expect(tracesOnly.metricExporters).toEqual(['prometheus']);
  });

  it('takes explicit exporter lists, and none', () => {
    const config = telemetryConfigFromEnv({
      OTEL_TRACES_EXPORTER: 'console, otlp',
      OTEL_METRICS_EXPORTER: 'none',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      TELEMETRY_SPANS_DIR: '/tmp/spans',
    });
    expect(config).toMatchObject({
      traceExporters: ['console', 'otlp'],
      metricExporters: [],
      otlpProtocol: 'http/json',
      spansDir: '/tmp/spans',
    });
  });

  it('rejects what it cannot do, naming the variable', () => {
    expect(() => telemetryConfigFromEnv({ OTEL_TRACES_EXPORTER: 'zipkin' })).toThrow(
      /OTEL_TRACES_EXPORTER must be a list of otlp, console, none; got 'zipkin'/,
    );
    expect(() => telemetryConfigFromEnv({ OTEL_METRICS_EXPORTER: 'none,prometheus' })).toThrow(
      /OTEL_METRICS_EXPORTER: 'none' cannot be combined/,
    );
    expect(() => telemetryConfigFromEnv({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toThrow(
      /OTEL_EXPORTER_OTLP_PROTOCOL must be http\/protobuf or http\/json/,
    );
  });

  it('reads the sampler, span batching and metric push settings the SDK no longer reads', () => {
    const config = telemetryConfigFromEnv({
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.25',
      OTEL_BSP_SCHEDULE_DELAY: '200',
      OTEL_BSP_MAX_QUEUE_SIZE: '4096',
      OTEL_METRIC_EXPORT_INTERVAL: '10000',
    });
    expect(config.sampler).toEqual({ name: 'parentbased_traceidratio', ratio: 0.25 });
    expect(config.spanBatch).toEqual({ scheduledDelayMillis: 200, maxQueueSize: 4096 });
    expect(config.metricExport).toEqual({ exportIntervalMillis: 10_000 });
    // A ratio sampler without its argument keeps every trace, as the specification says.
    expect(telemetryConfigFromEnv({ OTEL_TRACES_SAMPLER: 'traceidratio' }).sampler.ratio).toBe(1);
  });

  it('rejects sampler and batching settings it cannot use, naming the variable', () => {
    expect(() => telemetryConfigFromEnv({ OTEL_TRACES_SAMPLER: 'jaeger_remote' })).toThrow(
      /OTEL_TRACES_SAMPLER must be one of always_on, .*; got 'jaeger_remote'/,
    );
    expect(() =>
      telemetryConfigFromEnv({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '2' }),
    ).toThrow(/OTEL_TRACES_SAMPLER_ARG must be a number from 0 to 1; got '2'/);
    expect(() => telemetryConfigFromEnv({ OTEL_BSP_MAX_QUEUE_SIZE: '0' })).toThrow(
      /OTEL_BSP_MAX_QUEUE_SIZE must be a whole number of at least 1; got '0'/,
    );
    expect(() => telemetryConfigFromEnv({ OTEL_BSP_SCHEDULE_DELAY: '5s' })).toThrow(
      /OTEL_BSP_SCHEDULE_DELAY must be a whole number of at least 0; got '5s'/,
    );
    expect(() =>
      telemetryConfigFromEnv({
        OTEL_METRIC_EXPORT_INTERVAL: '1000',
        OTEL_METRIC_EXPORT_TIMEOUT: '5000',
      }),
    ).toThrow(/OTEL_METRIC_EXPORT_TIMEOUT must not exceed OTEL_METRIC_EXPORT_INTERVAL/);
  });

  it('is off entirely with OTEL_SDK_DISABLED=true', () => {
    expect(telemetryConfigFromEnv({ OTEL_SDK_DISABLED: 'true' }).disabled).toBe(true);
    expect(telemetryConfigFromEnv({ OTEL_SDK_DISABLED: 'false' }).disabled).toBe(false);
  });
});
