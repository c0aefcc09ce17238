import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the fault control acts on: a running system's own stop and start. */
export interface FaultTarget {
  stopService(name: 'user-service'): Promise<number | null>;
  startService(name: 'user-service'): Promise<void>;
}

/** A loopback endpoint through which the console's faults panel stops and starts user-service. */
export interface FaultControl {
  /** What the console is given: `CONSOLE_FAULTS_URL` and `CONSOLE_FAULTS_TOKEN`. */
  readonly env: Readonly<Record<string, string>>;
  /** The system it acts on, once it is running; until then every action is refused. */
  attach(target: FaultTarget): void;
  close(): Promise<void>;
}

/**
 * Opens the fault control on a free loopback port. Only a caller holding
 * the token (the console npm start launches) may use it:
 * `GET /services/user-service` says whether it runs; `POST .../stop` and
 * `POST .../start` stop it gracefully and start it again (resolving once it
 * is ready). Anything else is a 4xx naming what it takes.
 */
export async function openFaultControl(): Promise<FaultControl> {
  const token = randomBytes(24).toString('hex');
  let target: FaultTarget | undefined;
  let running = true;
  let busy: Promise<unknown> = Promise.resolve();

  const server = createServer((request, response) => {
    const reply = (status: number, body: object) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    if (request.headers.authorization !== `Bearer ${token}`)
      return reply(401, { detail: 'a bearer token is required' });
    const match = /^\/services\/user-service(?:\/(stop|start))?$/.exec(request.url ?? '');
    const action = match?.[1];
    if (match === null || (action === undefined) !== (request.method === 'GET'))
      return reply(404, {
        detail: 'GET /services/user-service, or POST /services/user-service/stop or /start',
      });
    if (target === undefined) return reply(503, { detail: 'the system is not running yet' });
    const system = target;
    // One action at a time, in the order they came.
    const done = busy.then(async () => {
      if (action === 'stop' && running) {
        await system.stopService('user-service');
        running = false;
      } else if (action === 'start' && !running) {
        await system.startService('user-service');
        running = true;
      }
    });
    busy = done.catch(() => undefined);
    done.then(
      () => reply(200, { service: 'user-service', running }),
      (error: unknown) => reply(500, { detail: (error as Error).message }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    env: { CONSOLE_FAULTS_URL: `http://127.0.0.1:${port}`, CONSOLE_FAULTS_TOKEN: token },
    attach: (system) => (target = system),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
