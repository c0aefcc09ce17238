// Boots notification-service. Telemetry starts first: it instruments node:http and pg as
// they are loaded, so everything else is imported after it, dynamically.
import { startTelemetry } from '@comms/telemetry/sdk';

try {
  const telemetry = startTelemetry({ serviceName: 'notification-service' });
  const { loadConfig } = await import('./config.js');
  const { startNotificationService } = await import('./main.js');
  await startNotificationService(loadConfig(), { telemetry });
} catch (error) {
  console.error(
    `notification-service failed to start: ${error instanceof Error ? error.message : String(error)}`,
  );
  process.exit(1);
}
