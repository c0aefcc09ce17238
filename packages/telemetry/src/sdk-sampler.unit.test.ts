import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tracer } from './index.js';

// Its own file, so its own process: the SDK registers process-wide globals once.
const dir = await mkdtemp(join(tmpdir(), 'telemetry-sampler-'));
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('startTelemetry with OTEL_TRACES_SAMPLER', () => {
  it('records and writes no span when the sampler keeps none', async () => {
    process.env['OTEL_TRACES_SAMPLER'] = 'traceidratio';
    process.env['OTEL_TRACES_SAMPLER_ARG'] = '0';
    process.env['TELEMETRY_SPANS_DIR'] = dir;
    const { startTelemetry } = await import('./sdk.js');
    const telemetry = startTelemetry({ serviceName: 'sampler-check' });

    const span = tracer().startSpan('dropped span');
    expect(span.isRecording()).toBe(false);
    // Still a real trace context, so it propagates to the next hop as unsampled.
    expect(span.spanContext().traceFlags).toBe(0);
    span.end();
    await telemetry.shutdown();

    const files = await readdir(dir);
    expect(files).toEqual([]);
  });
});
