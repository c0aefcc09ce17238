// Boots user-service. Telemetry starts first: it instruments node:http and pg as
// they are loaded, so everything else is imported after it, dynamically.
import { startTelemetry } from '@comms/telemetry/sdk';

try {
  const telemetry = startTelemetry({ serviceName: 'user-service' });
  const { loadConfig } = await import('./config.js');
  const { startUserService } = await import('./main.js');
  await startUserService(loadConfig(), { telemetry });
} catch (error) {
  console.error(
    `user-service failed to start: ${error instanceof Error ? error.message : String(error)}`,
  );
  process.exit(1);
}
