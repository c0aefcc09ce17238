import { fileURLToPath } from 'node:url';
import { launch } from './launcher.js';
import type { LaunchedProcess } from './launcher.js';
import { findFreePort } from './process-util.js';
import type { ServerControl } from './process-util.js';

/** Options for {@link startTokenIssuer}. */
export interface StartTokenIssuerOptions {
  /** Port on 127.0.0.1, or `'random'` for a free one (tests). Default 8084. */
  readonly port?: number | 'random';
  /** User ids with the operator role. Default `['operator']`. */
  readonly operators?: readonly string[];
  /** Access token lifetime in seconds. Default 900. */
  readonly accessTokenTtlSeconds?: number;
  /** Receives every line the issuer prints. */
  readonly log?: (line: string) => void;
  /** Told when the issuer exits without being stopped (a crash). */
  readonly onUnexpectedExit?: (report: string) => void;
}

/** The token issuer running as its own process. */
export interface RunningTokenIssuer extends ServerControl {
  /** The issuer identifier, `http://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  /** Its process id; a restart changes it. */
  readonly pid: number;
  /** Its last lines of output. */
  output(): string;
  /** Stops it (SIGTERM, SIGKILL after 5 s). */
  stop(): Promise<void>;
}

// From src (tests) and from dist alike: the entry is always built into dist.
const ENTRY = fileURLToPath(new URL('../dist/token-issuer-main.js', import.meta.url));

/**
 * Starts the local token issuer (token-issuer.ts) as a small process of its
 * own, through the project's launcher, and resolves once its discovery
 * document answers. `kill` and `restart` are for fault injection: a restart
 * keeps the port and generates a new signing key (a new `kid`).
 */
export async function startTokenIssuer(
  options: StartTokenIssuerOptions = {},
): Promise<RunningTokenIssuer> {
  const port = options.port === 'random' ? await findFreePort() : (options.port ?? 8084);
  const url = `http://127.0.0.1:${String(port)}`;
  const env: Record<string, string> = {
    TOKEN_ISSUER_PORT: String(port),
    TOKEN_ISSUER_OPERATORS: (options.operators ?? ['operator']).join(','),
    TOKEN_ISSUER_ACCESS_TOKEN_TTL_S: String(options.accessTokenTtlSeconds ?? 900),
  };
  const start = async (): Promise<LaunchedProcess> => {
    const child = launch({
      name: 'token issuer',
      args: [ENTRY],
      env,
      ...(options.log === undefined ? {} : { onLine: options.log }),
      onUnexpectedExit: (_exit, report) => options.onUnexpectedExit?.(report),
    });
    await child.waitHealthy(`${url}/.well-known/openid-configuration`, { timeoutMs: 20_000 });
    return child;
  };
  let current = await start();
  return {
    url,
    port,
    get pid() {
      return current.pid;
    },
    output: () => current.output(),
    async kill(sig) {
      await current.stop({ signal: sig, graceMs: 5_000 });
    },
    async restart() {
      if (current.running())
        throw new Error(`token issuer (pid ${String(current.pid)}) is still running`);
      current = await start();
    },
    async stop() {
      await current.stop({ graceMs: 5_000 });
    },
  };
}
