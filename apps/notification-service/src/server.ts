// Boots notification-service: configuration, then everything else in main.ts.
import { loadConfig } from './config.js';
import { startNotificationService } from './main.js';

try {
  await startNotificationService(loadConfig());
} catch (error) {
  console.error(
    `notification-service failed to start: ${error instanceof Error ? error.message : String(error)}`,
  );
  process.exit(1);
}
