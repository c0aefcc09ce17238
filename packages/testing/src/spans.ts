import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SpanRecord } from '@comms/telemetry/sdk';
import { waitFor } from './infra.js';

export type { SpanRecord };

/**
 * Every span the services wrote to `dir` so far (`TELEMETRY_SPANS_DIR`, one
 * JSON-lines file per process). A line still being written is skipped.
 */
export async function readSpans(dir: string): Promise<SpanRecord[]> {
  const spans: SpanRecord[] = [];
  for (const file of await readdir(dir).catch(() => [])) {
    if (!file.endsWith('.jsonl')) continue;
    for (const line of (await readFile(join(dir, file), 'utf8')).split('\n')) {
      if (line === '') continue;
      try {
        spans.push(JSON.parse(line) as SpanRecord);
      } catch {
        // the last line of a file that is being appended to
      }
    }
  }
  return spans;
}

/** Waits until `pick` finds something in the spans written to `dir`, and returns it. */
export function waitForSpans<T>(
  dir: string,
  pick: (spans: SpanRecord[]) => T | undefined,
  options: { timeoutMs?: number; message?: string } = {},
): Promise<T> {
  return waitFor(async () => pick(await readSpans(dir)), {
    timeoutMs: options.timeoutMs ?? 30_000,
    intervalMs: 100,
    message: options.message ?? 'the expected spans were not written',
  });
}
