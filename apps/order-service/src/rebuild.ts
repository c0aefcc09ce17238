// `npm run rebuild-read-model -w @comms/order-service`: replays every order
// stream into a fresh read model, reports how it compares with the live one,
// and with --replace swaps it in.
import { createPool } from '@comms/postgres';
import { loadRebuildConfig } from './config.js';
import { rebuildReadModel } from './projection.js';

try {
  const { DATABASE_URL } = loadRebuildConfig();
  const pool = createPool({ url: DATABASE_URL, applicationName: 'order-service-rebuild' });
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
