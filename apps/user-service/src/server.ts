// Boots user-service: configuration, then everything else in main.ts.
import { loadConfig } from './config.js';
import { startUserService } from './main.js';

try {
  await startUserService(loadConfig());
} catch (error) {
  console.error(
    `user-service failed to start: ${error instanceof Error ? error.message : String(error)}`,
  );
  process.exit(1);
}
