// The container HEALTHCHECK of infra/docker/service.Dockerfile. It runs in the
// service's directory and asks the service's own config for its HTTP port, so
// the image needs no port of its own (PORT, when set, wins there as well).
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

try {
  const { loadConfig } = await import(pathToFileURL(resolve('dist/config.js')).href);
  const { PORT } = loadConfig(process.env);
  const response = await fetch(`http://127.0.0.1:${String(PORT)}/healthz`, {
    signal: AbortSignal.timeout(2_000),
  });
  process.exit(response.ok ? 0 : 1);
} catch {
  process.exit(1);
}
