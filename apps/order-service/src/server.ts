// Boots order-service: configuration, then everything else in main.ts.
import { loadConfig } from './config.js';
import { startOrderService } from './main.js';

try {
  await startOrderService(loadConfig());
} catch (error) {
  console.error(
    `order-service failed to start: ${error instanceof Error ? error.message : String(error)}`,
  );
  process.exit(1);
}
