import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the console's faults panel may stop and start. */
export const FAULT_TARGETS = ['user-service', 'notification-service', 'kafka'] as const;

/** One of {@link FAULT_TARGETS}. */
export type FaultTargetName = (typeof FAULT_TARGETS)[number];

/** What the fault control acts on: a running system's own stop and start. */
export interface FaultTarget {
  /** Stops it: a service gracefully (SIGTERM), Kafka's broker with SIGTERM. */
  stop(name: FaultTargetName): Promise<void>;
  /** Starts it again and resolves once it answers (a service: once it is ready). */
  start(name: FaultTargetName): Promise<void>;
  /** Why it cannot be stopped here (Kafka that npm start did not launch), or undefined. */
  refusal(name: FaultTargetName): string | undefined;
}

/** A loopback endpoint through which the console's faults panel stops and starts parts of the system. */
export interface FaultControl {
  /** What the console is given: `CONSOLE_FAULTS_URL` and `CONSOLE_FAULTS_TOKEN`. */
  readonly env: Readonly<Record<string, string>>;
  /** The system it acts on, once it is running; until then every action is refused. */
  attach(target: FaultTarget): void;
  close(): Promise<void>;
}

const isTarget = (name: string): name is FaultTargetName =>
  (FAULT_TARGETS as readonly string[]).includes(name);

const USAGE = `GET /services, GET /services/<name>, or POST /services/<name>/stop or /start, where <name> is one of ${FAULT_TARGETS.join(', ')}`;

/**
 * Opens the fault control on a free loopback port. Only a caller holding
 * the token (the console npm start launches) may use it: `GET /services`
 * says what runs; `GET /services/<name>` says whether one runs;
 * `POST /services/<name>/stop` and `.../start` stop it and start it again
 * (resolving once it is back), for user-service, notification-service
 * and Kafka. Actions run one at a time, in the order they came. Anything
 * else is a 4xx naming what it takes.
 */
export async function openFaultControl(): Promise<FaultControl> {
  const token = randomBytes(24).toString('hex');
  let target: FaultTarget | undefined;
  const running: Record<FaultTargetName, boolean> = {
    'user-service': true,
    'notification-service': true,
    kafka: true,
  };
  let busy: Promise<unknown> = Promise.resolve();
  const stateOf = (name: FaultTargetName) => ({
    service: name,
    running: running[name],
    ...(target?.refusal(name) === undefined ? {} : { refusal: target.refusal(name) }),
  });

  const server = createServer((request, response) => {
    const reply = (status: number, body: object) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    if (request.headers.authorization !== `Bearer ${token}`)
      return reply(401, { detail: 'a bearer token is required' });
    const url = request.url ?? '';
    if (url === '/services' && request.method === 'GET')
      return reply(200, { services: FAULT_TARGETS.map(stateOf) });
    const match = /^\/services\/([a-z-]+)(?:\/(stop|start))?$/.exec(url);
    const name = match?.[1];
    const action = match?.[2];
    if (
      name === undefined ||
      !isTarget(name) ||
      (action === undefined) !== (request.method === 'GET')
    )
      return reply(404, { detail: USAGE });
    if (action === undefined) return reply(200, stateOf(name));
    if (target === undefined) return reply(503, { detail: 'the system is not running yet' });
    const refused = target.refusal(name);
    if (refused !== undefined) return reply(409, { detail: refused });
    const system = target;
    const done = busy.then(async () => {
      if (action === 'stop' && running[name]) {
        await system.stop(name);
        running[name] = false;
      } else if (action === 'start' && !running[name]) {
        await system.start(name);
        running[name] = true;
      }
    });
    busy = done.catch(() => undefined);
    done.then(
      () => reply(200, stateOf(name)),
      (error: unknown) => reply(500, { detail: (error as Error).message }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    env: { CONSOLE_FAULTS_URL: `http://127.0.0.1:${String(port)}`, CONSOLE_FAULTS_TOKEN: token },
    attach: (system) => (target = system),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
