import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { SpanRecord } from '@comms/telemetry/sdk';

export type { SpanRecord };

/** Where the timeline reads finished spans from, by trace id. */
export interface SpanSource {
  /** What the page says about the source ("span files in /tmp/x"). */
  readonly description: string;
  /** The spans of one trace written so far, oldest start first. */
  trace(traceId: string): Promise<SpanRecord[]>;
}

/** Traces kept in memory; the oldest are dropped first. */
const MAX_TRACES = 5_000;
/** Bytes read from one file per pass, so one huge backlog cannot stall a request. */
const MAX_READ_BYTES = 8 * 1024 * 1024;

/**
 * Reads the JSON-lines span files the services write when they run with
 * `TELEMETRY_SPANS_DIR` (one file per process, appended to as spans end).
 * Each file is read from where the last pass stopped, and spans are kept by
 * trace id, so a lookup costs only what was written since the last one.
 * A partly written last line is left for the next pass.
 */
export function createSpanFileSource(dir: string): SpanSource {
  const offsets = new Map<string, number>();
  const traces = new Map<string, SpanRecord[]>();
  let pass: Promise<void> | undefined;

  const keep = (span: SpanRecord) => {
    let spans = traces.get(span.traceId);
    if (spans === undefined) {
      spans = [];
      traces.set(span.traceId, spans);
      if (traces.size > MAX_TRACES) {
        const oldest = traces.keys().next().value;
        if (oldest !== undefined) traces.delete(oldest);
      }
    }
    spans.push(span);
  };

  const readFile = async (name: string) => {
    const path = join(dir, name);
    const from = offsets.get(name) ?? 0;
    const handle = await open(path, 'r');
    try {
      const { size } = await handle.stat();
      if (size <= from) return;
      const length = Math.min(size - from, MAX_READ_BYTES);
      const buffer = Buffer.alloc(length);
      const { bytesRead } = await handle.read(buffer, 0, length, from);
      const text = buffer.subarray(0, bytesRead).toString('utf8');
      const end = text.lastIndexOf('\n');
      if (end < 0) return;
      for (const line of text.slice(0, end).split('\n')) {
        if (line === '') continue;
        try {
          keep(JSON.parse(line) as SpanRecord);
        } catch {
          // Not a span line; the files are only ever appended whole lines.
        }
      }
      offsets.set(name, from + Buffer.byteLength(text.slice(0, end + 1)));
    } finally {
      await handle.close();
    }
  };

  const catchUp = async () => {
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const name of names) if (name.endsWith('.jsonl')) await readFile(name);
  };

  return {
    description: `span files in ${dir}`,
    async trace(traceId) {
      // Concurrent lookups share one pass over the files.
      pass ??= catchUp().finally(() => (pass = undefined));
      await pass;
      return [...(traces.get(traceId) ?? [])].sort((a, b) => a.startUs - b.startUs);
    },
  };
}
