import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { meter, SpanKind, tracer } from './index.js';

// A stand-in OTLP/HTTP receiver: what a collector or Jaeger would get.
const received: { path: string; body: string }[] = [];
const receiver = createServer((request, response) => {
  let body = '';
  request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
  request.on('end', () => {
    received.push({ path: request.url ?? '', body });
    response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
});

beforeAll(async () => {
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
});
afterAll(async () => {
  await new Promise((resolve) => receiver.close(resolve));
});

describe('startTelemetry', () => {
  it('exports spans and metrics over OTLP when an endpoint is configured', async () => {
    const { port } = receiver.address() as AddressInfo;
    process.env['OTEL_EXPORTER_OTLP_ENDPOINT'] = `http://127.0.0.1:${port}`;
    process.env['OTEL_EXPORTER_OTLP_PROTOCOL'] = 'http/json';
    const { startTelemetry } = await import('./sdk.js');
    const telemetry = startTelemetry({ serviceName: 'otlp-check' });
    expect(telemetry.config.traceExporters).toEqual(['otlp']);

    tracer().startSpan('checked span', { kind: SpanKind.SERVER }).end();
    meter().createCounter('comms.check.count').add(3);
    await telemetry.shutdown();

    const traces = received.filter((r) => r.path === '/v1/traces').map((r) => r.body);
    expect(traces.join()).toContain('"name":"checked span"');
    expect(traces.join()).toContain('"stringValue":"otlp-check"');
    const metrics = received.filter((r) => r.path === '/v1/metrics').map((r) => r.body);
    expect(metrics.join()).toContain('"name":"comms.check.count"');
  });
});
