// Boots notification-service: the only place that exits the process. Telemetry starts first:
// it instruments node:http and pg as they are loaded, so everything else is
// imported after it, dynamically.
import type { ServiceHandle } from '@comms/service-kit';
import { startTelemetry } from '@comms/telemetry/sdk';

let service: ServiceHandle;
try {
  const telemetry = startTelemetry({ serviceName: 'notification-service' });
  const { loadConfig } = await import('./config.js');
  const { startNotificationService } = await import('./main.js');
  service = await startNotificationService(loadConfig(), { telemetry });
} catch (error) {
  console.error(
    `notification-service failed to start: ${error instanceof Error ? error.message : String(error)}`,
  );
  process.exit(1);
}
process.exit(await service.stopOnSignals());
