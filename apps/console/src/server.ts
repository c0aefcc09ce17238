// Boots the console: the only place that exits the process.
import type { ServiceHandle } from '@comms/service-kit';
import { loadConfig } from './config.js';
import { startConsole } from './main.js';

let service: ServiceHandle;
try {
  service = await startConsole(loadConfig());
} catch (error) {
  console.error(
    `console failed to start: ${error instanceof Error ? error.message : String(error)}`,
  );
  process.exit(1);
}
process.exit(await service.stopOnSignals());
