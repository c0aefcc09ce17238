import { describe, expect, it } from 'vitest';
import { context, trace } from '@opentelemetry/api';
import { logTraceFields, tracer } from './index.js';

// Its own file, so its own process: the SDK registers process-wide globals once.
describe('startTelemetry with nothing configured', () => {
  it('records no span, yet every span has a trace id that log lines and the next hop carry', async () => {
    for (const name of Object.keys(process.env))
      if (name.startsWith('OTEL_') || name.startsWith('TELEMETRY_')) delete process.env[name];
    const { startTelemetry } = await import('./sdk.js');
    const telemetry = startTelemetry({ serviceName: 'default-check' });

    const span = tracer().startSpan('unexported work');
    expect(span.isRecording()).toBe(false);
    const { traceId } = span.spanContext();
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(traceId).not.toBe('0'.repeat(32));
    const fields = context.with(trace.setSpan(context.active(), span), () => logTraceFields());
    expect(fields).toMatchObject({ trace_id: traceId });
    span.end();
    await telemetry.shutdown();
  });
});
