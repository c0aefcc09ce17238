// `npm run rebuild-read-model -w @comms/order-service`: replays every order
// stream into a fresh read model, reports how it compares with the live one,
// and with --replace swaps it in.
import { createPool, parseDatabaseUrl } from '@comms/postgres';
import { rebuildReadModel } from './projection.js';

const url = process.env['DATABASE_URL'];
try {
  parseDatabaseUrl(url);
  const pool = createPool({ url: url ?? '', applicationName: 'order-service-rebuild' });
  const result = await rebuildReadModel(pool, { replace: process.argv.includes('--replace') });
  await pool.end();
  console.log(
    `replayed ${result.events} events into ${result.orders} orders; ${result.differences} rows differ from the live read model` +
      (process.argv.includes('--replace') ? '; live read model replaced' : ''),
  );
  process.exitCode = result.differences === 0 ? 0 : 3;
} catch (error) {
  console.error(`rebuild failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
