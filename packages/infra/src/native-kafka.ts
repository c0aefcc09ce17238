import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createKafka } from '@comms/kafka';
import { pollUntil } from '@comms/resilience';
import { infraEnv } from './config.js';
import { InfraError } from './errors.js';
import { controlServer, exited, isPortFree, run, stopProcess, tailFile } from './process-util.js';
import type { ControlledServer } from './process-util.js';

/** Apache Kafka (KRaft, one node) run by the local Java from Maven-resolved jars. */
export interface NativeKafka extends ControlledServer {
  readonly brokers: string;
  /** The Apache Kafka release running, from its jar (for example 4.2.1). */
  readonly version: string;
  readonly logFile: string;
}

/** `infra/kafka` at the repository root: the pinned pom, log config and resolved jars. */
export const KAFKA_HOME = fileURLToPath(new URL('../../../infra/kafka/', import.meta.url));
const LIB_ROOT = join(KAFKA_HOME, 'lib');

function javaCommand(): string {
  return infraEnv().java;
}

/** Checks that Java 17+ is present; Kafka 4's broker needs it. */
export async function checkJava(): Promise<void> {
  const java = javaCommand();
  const result = await run(java, ['-version'], { timeoutMs: 30_000 });
  if (result.error?.code === 'ENOENT' || result.code === null) {
    throw new InfraError(
      `Java was not found (tried '${java}'); the no-Docker Kafka runs on Java 17 or newer`,
      'install a JDK 17+ (for example `apt-get install openjdk-17-jre-headless`) or set JAVA_HOME; or set KAFKA_BROKERS to a running broker',
    );
  }
  const match = /version "(\d+)(?:\.(\d+))?/.exec(result.output);
  const major = match === null ? 0 : Number(match[1] === '1' ? match[2] : match[1]);
  if (major < 17) {
    throw new InfraError(
      `Java 17 or newer is needed for the no-Docker Kafka, found: ${result.output.split('\n')[0] ?? '?'}`,
      'install a JDK 17+ and put it first on PATH or in JAVA_HOME; or set KAFKA_BROKERS',
    );
  }
}

/**
 * Makes sure the Kafka jars pinned by infra/kafka/pom.xml sit in
 * infra/kafka/lib/<hash of the pom>/, resolving them with Maven the first
 * time (about 50 MB). Each pom gets a directory of its own, filled under a
 * temporary name and renamed when complete, so a broker that is running
 * never sees its jars replaced and two versions never share a classpath.
 */
export async function ensureKafkaJars(
  log: (line: string) => void = () => undefined,
): Promise<string> {
  const pomHash = createHash('sha256')
    .update(await readFile(join(KAFKA_HOME, 'pom.xml')))
    .digest('hex')
    .slice(0, 16);
  const libDir = join(LIB_ROOT, pomHash);
  const hasBroker = async (dir: string) =>
    (await readdir(dir).catch(() => [] as string[])).some((f) => /^kafka_2\.13-.*\.jar$/.test(f));
  if (await hasBroker(libDir)) return libDir;

  const mvn = await run('mvn', ['--version'], { timeoutMs: 60_000 });
  if (mvn.code !== 0) {
    throw new InfraError(
      'Maven (mvn) was not found; it resolves the Kafka jars for the no-Docker path',
      'install Maven 3.6+ (for example `apt-get install maven`), or set KAFKA_BROKERS to a running broker',
    );
  }
  log('resolving the Kafka jars with Maven (first run only, about 50 MB)...');
  const scratch = join(LIB_ROOT, `.resolving-${randomBytes(4).toString('hex')}`);
  await mkdir(LIB_ROOT, { recursive: true });
  try {
    const result = await run(
      'mvn',
      [
        '-B',
        '-q',
        '-f',
        join(KAFKA_HOME, 'pom.xml'),
        `-Dkafka.lib=${scratch}`,
        'dependency:copy-dependencies',
      ],
      { timeoutMs: 15 * 60_000 },
    );
    if (result.code !== 0 || !(await hasBroker(scratch))) {
      const tail = result.output.trim().split('\n').slice(-15).join('\n');
      throw new InfraError(
        `Maven could not resolve the Kafka jars from infra/kafka/pom.xml:\n${tail}`,
        'check that Maven Central is reachable (proxy settings in ~/.m2/settings.xml), then retry',
      );
    }
    await rename(scratch, libDir).catch(async (error: unknown) => {
      // Another process of this checkout finished first: use its jars.
      if (!(await hasBroker(libDir))) throw error;
    });
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  return libDir;
}

/**
 * A KRaft cluster id: 16 random bytes, base64url without padding. One in
 * 64 would start with '-', which the storage tool's argument parser takes
 * for an option; draw again then.
 */
function clusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

function serverProperties(dir: string, port: number, controllerPort: number): string {
  return [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
    `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    `log.dirs=${join(dir, 'data')}`,
    'num.partitions=3',
    // One node: every internal topic has a single replica.
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=5',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'group.initial.rebalance.delay.ms=0',
    // Topics are created explicitly (auto-creation races the first produce).
    'auto.create.topics.enable=false',
    'delete.topic.enable=true',
    '',
  ].join('\n');
}

/**
 * Formats KRaft storage in `dir` and starts one combined broker/controller
 * on 127.0.0.1:`port`. Resolves once a client can list topics.
 */
export async function startNativeKafka(options: {
  port: number;
  controllerPort: number;
  dir: string;
  timeoutMs?: number;
  log?: (line: string) => void;
}): Promise<NativeKafka> {
  const { port, controllerPort, dir } = options;
  for (const [what, p] of [
    ['Kafka', port],
    ['the Kafka controller', controllerPort],
  ] as const) {
    if (!(await isPortFree(p))) {
      throw new InfraError(
        `${what} cannot listen on 127.0.0.1:${p}: the port is already in use`,
        'stop whatever listens there (another Kafka?), pick another port, or set KAFKA_BROKERS to use that broker',
      );
    }
  }
  await checkJava();
  const lib = await ensureKafkaJars(options.log);
  await mkdir(dir, { recursive: true });
  const props = join(dir, 'server.properties');
  const logFile = join(dir, 'kafka.log');
  await writeFile(props, serverProperties(dir, port, controllerPort));
  const classpath = join(lib, '*');
  const log4j = `-Dlog4j2.configurationFile=${join(KAFKA_HOME, 'log4j2.properties')}`;

  const format = await run(
    javaCommand(),
    ['-cp', classpath, log4j, 'kafka.tools.StorageTool', 'format', '-t', clusterId(), '-c', props],
    { timeoutMs: 120_000 },
  );
  if (format.code !== 0) {
    throw new InfraError(
      `Kafka could not format its storage in ${dir}:\n${format.output.trim().split('\n').slice(-10).join('\n')}`,
      'check free disk space; delete infra/kafka/lib/ to re-resolve the jars',
    );
  }

  const out = createWriteStream(logFile, { flags: 'a' });
  const brokers = `127.0.0.1:${port}`;
  const timeoutMs = options.timeoutMs ?? 90_000;
  // Starts the broker on the formatted storage and waits until it answers;
  // called again by restart() after a kill, on the same port and data.
  const launch = async (): Promise<number> => {
    const child = spawn(
      javaCommand(),
      [
        '-Xms512m',
        '-Xmx512m',
        '-XX:+UseG1GC',
        '-XX:+ExitOnOutOfMemoryError',
        '-Djava.awt.headless=true',
        log4j,
        '-cp',
        classpath,
        'kafka.Kafka',
        props,
      ],
      { detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout.pipe(out, { end: false });
    child.stderr.pipe(out, { end: false });
    const pid = child.pid;
    if (pid === undefined) throw new InfraError('Java could not be spawned', 'check JAVA_HOME');
    let gone = false;
    void exited(child).then(() => (gone = true));

    const failed = async (why: string) =>
      new InfraError(
        `Kafka did not become ready ${why}. Its log (${logFile}) ends with:\n${await tailFile(logFile)}`,
        'fix what the log says, or set KAFKA_BROKERS to a running broker',
      );
    const client = createKafka({
      brokers: [brokers],
      clientId: 'infra-readiness',
      connectionTimeoutMs: 1_000,
    });
    try {
      await pollUntil(
        async () => {
          if (gone) throw await failed(`(the broker exited with code ${String(child.exitCode)})`);
          try {
            const admin = await client.admin();
            try {
              await admin.listTopics();
              return true;
            } finally {
              await admin.close();
            }
          } catch {
            return undefined;
          }
        },
        {
          timeoutMs,
          intervalMs: 250,
          // The check throws only for a broker that exited: fail at once.
          transient: () => false,
          onTimeout: () => failed(`within ${Math.round(timeoutMs / 1000)} s`),
        },
      );
    } catch (error) {
      await stopProcess(pid, 'SIGKILL', 0);
      throw error;
    }
    return pid;
  };

  // SIGTERM runs the broker's shutdown hook (controlled shutdown, log flush).
  const server = await controlServer({
    name: 'Kafka',
    launch,
    stopSignal: 'SIGTERM',
    stopGraceMs: 15_000,
    cleanup: async () => {
      out.end();
      await rm(dir, { recursive: true, force: true });
    },
  });
  const jar = (await readdir(lib)).find((f) => /^kafka_2\.13-.*\.jar$/.test(f)) ?? '';
  return Object.assign(server, {
    brokers,
    version: /^kafka_2\.13-(.+)\.jar$/.exec(jar)?.[1] ?? 'unknown',
    logFile,
  });
}
