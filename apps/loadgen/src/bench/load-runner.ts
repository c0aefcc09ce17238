// One load trial in a process of its own: the bench starts this with a
// LoadSpec as its only argument, and it prints the trial's Measurement as
// one JSON line. Kept apart so the generator never shares a process (or an
// event loop) with a subject or a baseline, and so its own CPU shows in the
// report as the generator's.
import { randomUUID } from 'node:crypto';
import autocannon from 'autocannon';
import { createPool, withTransaction } from '@comms/postgres';
import type { HttpLoadSpec, LoadSpec, PgLoadSpec } from './load.js';
import { closedLoop, summarise } from '@comms/load';
import type { Measurement } from '@comms/load';

/** autocannon, every response time kept for exact percentiles. */
async function http(spec: HttpLoadSpec): Promise<Measurement> {
  const latencies: number[] = [];
  const started = performance.now();
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        // autocannon takes an array of URLs as well (connection i to URL i
        // mod n); its type declarations only name the single one.
        url: spec.url as string,
        method: spec.method,
        ...(spec.body === undefined ? {} : { body: spec.body }),
        headers: {
          ...(spec.body === undefined ? {} : { 'content-type': 'application/json' }),
          ...spec.headers,
        },
        connections: spec.concurrency,
        duration: spec.durationMs / 1000,
      },
      (error: unknown, finished: autocannon.Result) => {
        if (error === null || error === undefined) resolve(finished);
        else
          reject(
            error instanceof Error ? error : new Error(`autocannon: ${JSON.stringify(error)}`),
          );
      },
    );
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      if (statusCode < 400) latencies.push(responseTime);
    });
  });
  const errors = result.errors + result.timeouts + result.non2xx;
  return summarise(spec.name, latencies, errors, performance.now() - started);
}

/** A closed loop of one statement (in a transaction, if asked) on a pool of the given size. */
async function pg(
  spec: PgLoadSpec,
): Promise<{ measurement: Measurement; done: () => Promise<void> }> {
  const pool = createPool({ url: spec.url, applicationName: 'bench-load', max: spec.poolSize });
  const params = () =>
    spec.params.map((value, index) => (index === spec.freshIdParam ? randomUUID() : value));
  const measurement = await closedLoop(spec.name, spec, async () => {
    const result = spec.transaction
      ? await withTransaction(pool, (client) => client.query(spec.sql, params()))
      : await pool.query(spec.sql, params());
    if (spec.rows !== undefined && result.rowCount !== spec.rows)
      throw new Error(`expected ${String(spec.rows)} rows, got ${String(result.rowCount)}`);
  });
  return { measurement, done: () => pool.end() };
}

const spec = JSON.parse(process.argv[2] ?? 'null') as LoadSpec | null;
if (spec === null) throw new Error('load-runner takes a load spec (JSON) as its argument');
const { measurement, done } =
  spec.kind === 'http'
    ? { measurement: await http(spec), done: () => Promise.resolve() }
    : await pg(spec);
process.stdout.write(`${JSON.stringify(measurement)}\n`);
// The pool's PostgreSQL backends live until the bench has read every
// party's CPU and closes our stdin: a backend that ended would take its
// CPU time out of the reading.
process.stdin.resume();
process.stdin.once('end', () => {
  void done().then(() => process.exit(0));
});
