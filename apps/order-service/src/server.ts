// Boots order-service: the only place that exits the process. Telemetry starts first:
// it instruments node:http and pg as they are loaded, so everything else is
// imported after it, dynamically.
import type { ServiceHandle } from '@comms/service-kit';
import { startTelemetry } from '@comms/telemetry/sdk';

let service: ServiceHandle;
try {
  const telemetry = startTelemetry({ serviceName: 'order-service' });
  const { loadConfig } = await import('./config.js');
  const { startOrderService } = await import('./main.js');
  service = await startOrderService(loadConfig(), { telemetry });
} catch (error) {
  console.error(
    `order-service failed to start: ${error instanceof Error ? error.message : String(error)}`,
  );
  process.exit(1);
}
process.exit(await service.stopOnSignals());
