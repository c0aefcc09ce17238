// The build step of the page: the files in public/ are served as they are,
// so building them is copying them next to the compiled backend (dist/public),
// where the service image (infra/docker/service.Dockerfile) takes dist from.
import { cpSync, rmSync } from 'node:fs';
import { URL } from 'node:url';

rmSync(new URL('../dist/public', import.meta.url), { recursive: true, force: true });
cpSync(new URL('../public', import.meta.url), new URL('../dist/public', import.meta.url), {
  recursive: true,
});
