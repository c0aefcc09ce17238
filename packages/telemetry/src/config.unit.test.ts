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
    });
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

  it('is off entirely with OTEL_SDK_DISABLED=true', () => {
    expect(telemetryConfigFromEnv({ OTEL_SDK_DISABLED: 'true' }).disabled).toBe(true);
    expect(telemetryConfigFromEnv({ OTEL_SDK_DISABLED: 'false' }).disabled).toBe(false);
  });
});
