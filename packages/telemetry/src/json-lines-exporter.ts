import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { SpanKind } from '@opentelemetry/api';
import { ExportResultCode } from '@opentelemetry/core';
import type { ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';

/** One span as a line of the file {@link JsonLinesSpanExporter} writes. */
export interface SpanRecord {
  readonly service: string;
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly name: string;
  readonly kind: 'INTERNAL' | 'SERVER' | 'CLIENT' | 'PRODUCER' | 'CONSUMER';
  readonly status: { readonly code: number; readonly message?: string };
  readonly attributes: Readonly<Record<string, unknown>>;
  readonly links: ReadonlyArray<{ readonly traceId: string; readonly spanId: string }>;
  readonly events: readonly string[];
  readonly startUs: number;
  readonly durationUs: number;
}

const toUs = ([seconds, nanos]: readonly [number, number]) =>
  Math.round(seconds * 1e6 + nanos / 1e3);

/**
 * Appends each finished span as one JSON line to `<dir>/<service>-<pid>.jsonl`.
 * Meant for tests and local debugging across processes: with a simple
 * (unbatched) processor a span is on disk when it ends, so nothing waits on
 * a flush and nothing is lost when a process is killed. One file per
 * process, so lines of different processes never interleave.
 */
export class JsonLinesSpanExporter implements SpanExporter {
  readonly #file: string;
  readonly #service: string;

  constructor(dir: string, service: string) {
    mkdirSync(dir, { recursive: true });
    this.#service = service;
    this.#file = join(dir, `${service}-${process.pid}.jsonl`);
  }

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    try {
      const lines = spans.map((span) => JSON.stringify(this.#record(span))).join('\n');
      if (lines !== '') appendFileSync(this.#file, `${lines}\n`);
      done({ code: ExportResultCode.SUCCESS });
    } catch (error) {
      done({ code: ExportResultCode.FAILED, error: error as Error });
    }
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }

  #record(span: ReadableSpan): SpanRecord {
    const context = span.spanContext();
    const parent = span.parentSpanContext?.spanId;
    return {
      service: this.#service,
      traceId: context.traceId,
      spanId: context.spanId,
      ...(parent === undefined ? {} : { parentSpanId: parent }),
      name: span.name,
      kind: SpanKind[span.kind] as SpanRecord['kind'],
      status: {
        code: span.status.code,
        ...(span.status.message === undefined ? {} : { message: span.status.message }),
      },
      attributes: span.attributes,
      links: span.links.map((link) => ({
        traceId: link.context.traceId,
        spanId: link.context.spanId,
      })),
      events: span.events.map((event) => event.name),
      startUs: toUs(span.startTime),
      durationUs: toUs(span.duration),
    };
  }
}
