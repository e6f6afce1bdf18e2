import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  type WriteStream,
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { GoogleCalendarEmulator } from '../../emulators/google/google-calendar.emulator.js';
import { MicrosoftGraphEmulator } from '../../emulators/microsoft/microsoft-graph.emulator.js';
import { freePort } from '../../emulators/free-port.js';
import type { InstanceName } from './schedule.js';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The repository root (the folder whose package.json is calsync's), from this file's place in src or dist. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'src', 'main.ts'))) return dir;
    dir = dirname(dir);
  }
  return process.cwd();
}

// ---- database ---------------------------------------------------------------------------------------

export interface ChaosDatabase {
  url: string;
  kind: 'given' | 'DATABASE_URL (fresh database)' | 'embedded';
  stop(keep: boolean): Promise<void>;
}

/**
 * A database only this run uses: the one handed in (the jest test copies the migrated template), else a
 * fresh database created on DATABASE_URL's server (dropped at the end), else an embedded PostgreSQL in a
 * temporary directory (removed at the end).
 */
export async function openDatabase(
  options: { databaseUrl?: string; seed: number },
  log: (line: string) => void,
): Promise<ChaosDatabase> {
  if (options.databaseUrl) return { url: options.databaseUrl, kind: 'given', stop: async () => undefined };
  const external = process.env.DATABASE_URL;
  if (external) {
    const name = `calsync_chaos_${options.seed}_${randomBytes(3).toString('hex')}`;
    const admin = new URL(external);
    admin.pathname = '/postgres';
    const client = new pg.Client({ connectionString: admin.toString() });
    await client.connect();
    try {
      await client.query(`CREATE DATABASE ${name}`);
    } finally {
      await client.end();
    }
    const url = new URL(external);
    url.pathname = `/${name}`;
    return {
      url: url.toString(),
      kind: 'DATABASE_URL (fresh database)',
      stop: async (keep) => {
        if (keep) return log(`kept database ${name}`);
        const c = new pg.Client({ connectionString: admin.toString() });
        await c.connect();
        try {
          await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        } finally {
          await c.end();
        }
      },
    };
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'calsync-chaos-pg-'));
  const { startEmbeddedDatabase } = await import('../../src/infrastructure/database/embedded-database.js');
  try {
    const database = await startEmbeddedDatabase({ dataDir, port: await freePort(), database: 'calsync_chaos', log });
    return {
      url: database.url,
      kind: 'embedded',
      stop: async (keep) => {
        try {
          await database.stop();
        } finally {
          if (keep) log(`kept the embedded database's files in ${dataDir}`);
          else rmSync(dataDir, { recursive: true, force: true });
        }
      },
    };
  } catch (error) {
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
}

// ---- emulators --------------------------------------------------------------------------------------

export interface Emulators {
  google: GoogleCalendarEmulator;
  microsoft: MicrosoftGraphEmulator;
  caFile: string;
  /** What the harness counted by watching the emulators' fault switches being consumed. */
  counters: { duplicatedCopies: number; hung: number };
  stop(): Promise<void>;
}

type CountingFaults = { takeCopies(): number; takeSlow(operation: string): number };

/** Counts what the fault switches actually did (copies sent, responses hung), not what was asked. */
function countFaults(faults: unknown, counters: Emulators['counters']): void {
  const f = faults as CountingFaults;
  const takeCopies = f.takeCopies.bind(f);
  const takeSlow = f.takeSlow.bind(f);
  f.takeCopies = () => {
    const copies = takeCopies();
    counters.duplicatedCopies += copies - 1;
    return copies;
  };
  f.takeSlow = (operation: string) => {
    const ms = takeSlow(operation);
    if (ms > 0) counters.hung += 1;
    return ms;
  };
}

export async function startEmulators(workDir: string): Promise<Emulators> {
  const google = await GoogleCalendarEmulator.start({ host: '127.0.0.1' });
  let microsoft: MicrosoftGraphEmulator;
  try {
    microsoft = await MicrosoftGraphEmulator.start({ host: '127.0.0.1' });
  } catch (error) {
    await google.stop();
    throw error;
  }
  // A child process trusts the Graph emulator's own CA through NODE_EXTRA_CA_CERTS (read at its start).
  const caFile = join(workDir, 'graph-emulator-ca.pem');
  writeFileSync(caFile, microsoft.caCertificate);
  const counters = { duplicatedCopies: 0, hung: 0 };
  countFaults(google.faults, counters);
  countFaults(microsoft.faults, counters);
  return {
    google,
    microsoft,
    caFile,
    counters,
    stop: async () => {
      await Promise.allSettled([google.stop(false), microsoft.stop()]);
    },
  };
}

// ---- service instances ------------------------------------------------------------------------------

export type InstanceState = 'down' | 'starting' | 'up';

/**
 * One calsync process, `node dist/src/main.js`, started and killed (SIGKILL) by the harness, restarted
 * with the same environment on the same port. Its output goes to `<logDir>/<name>.log`, each start
 * marked with its generation.
 */
export class ServiceInstance {
  private proc: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  private log: WriteStream;
  state: InstanceState = 'down';
  generation = 0;
  starts = 0;
  kills = 0;
  /** Milliseconds from spawn to a healthy answer, per start. */
  readonly bootTimes: number[] = [];

  constructor(
    readonly name: InstanceName,
    readonly port: number,
    private readonly env: Record<string, string>,
    private readonly root: string,
    readonly logFile: string,
    /** The service's entry point, relative to `root` (the jest test runs an SWC build, not dist/). */
    private readonly entry = 'dist/src/main.js',
  ) {
    this.log = createWriteStream(logFile, { flags: 'a' });
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  get alive(): boolean {
    return this.proc !== null;
  }

  /** Spawns the process; resolves once it answers /health (or rejects after `timeoutMs`). */
  async start(timeoutMs = 60_000): Promise<number> {
    if (this.proc) throw new Error(`instance ${this.name} is already running`);
    this.generation += 1;
    this.starts += 1;
    const generation = this.generation;
    this.log.write(`\n===== ${new Date().toISOString()} start #${generation} of instance ${this.name} =====\n`);
    const spawnedAt = performance.now();
    const proc = spawn(process.execPath, [this.entry], {
      cwd: this.root,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.proc = proc;
    this.state = 'starting';
    proc.stdout?.on('data', (chunk: Buffer) => this.log.write(chunk));
    proc.stderr?.on('data', (chunk: Buffer) => this.log.write(chunk));
    this.exited = new Promise<void>((resolveExit) => {
      proc.once('exit', (code, signal) => {
        this.log.write(`===== instance ${this.name} #${generation} exited (${signal ?? `code ${code}`}) =====\n`);
        if (this.proc === proc) {
          this.proc = null;
          this.state = 'down';
        }
        resolveExit();
      });
    });
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline) {
      if (this.proc !== proc) throw new Error(`instance ${this.name} exited while starting (see ${this.logFile})`);
      if (await healthy(this.url)) {
        const ms = performance.now() - spawnedAt;
        this.bootTimes.push(ms);
        this.state = 'up';
        return ms;
      }
      await sleep(25);
    }
    throw new Error(`instance ${this.name} did not become healthy within ${timeoutMs} ms (see ${this.logFile})`);
  }

  /** kill -9, and wait until the process is gone. */
  async kill9(): Promise<boolean> {
    const proc = this.proc;
    if (!proc || proc.pid === undefined) return false;
    this.kills += 1;
    this.log.write(`===== ${new Date().toISOString()} kill -9 of instance ${this.name} #${this.generation} =====\n`);
    proc.kill('SIGKILL');
    await this.exited;
    return true;
  }

  /** A clean stop (SIGTERM, then SIGKILL after a while). */
  async stop(): Promise<void> {
    const proc = this.proc;
    if (!proc) return;
    proc.kill('SIGTERM');
    const done = await Promise.race([this.exited.then(() => true), sleep(8000).then(() => false)]);
    if (!done) {
      proc.kill('SIGKILL');
      await this.exited;
    }
  }

  /** Last resort on the way out (process exit handlers): no waiting. */
  killNow(): void {
    this.proc?.kill('SIGKILL');
  }

  close(): void {
    this.log.end();
  }
}

async function healthy(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}

// ---- webhook load balancer --------------------------------------------------------------------------

/**
 * The address both providers push to: a loopback load balancer in front of the two instances, as a
 * deployment would have. Each push goes to the next instance that is up; a connection refused or reset
 * (the instance just died) is tried once on the other; with none up it answers 502, which the emulators
 * retry a few times and then give up on (the push is lost, as with a real outage).
 */
export class WebhookProxy {
  private server: http.Server | null = null;
  private next = 0;
  readonly stats = { forwarded: 0, retried: 0, noBackend: 0 };
  port = 0;

  constructor(private readonly backends: () => ServiceInstance[]) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    // A client that drops its request mid-body rejects the read: that request is dropped, the proxy goes on.
    const server = http.createServer((req, res) => void this.handle(req, res).catch(() => res.destroy()));
    server.keepAliveTimeout = 5000;
    await new Promise<void>((resolveListen, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolveListen());
    });
    this.port = (server.address() as { port: number }).port;
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const up = this.backends().filter((b) => b.state === 'up');
    const order = up.length === 0 ? [] : [up[this.next++ % up.length], ...up].filter((b, i, all) => all.indexOf(b) === i);
    for (const [attempt, backend] of order.entries()) {
      try {
        const answer = await forward(backend.port, req, body);
        this.stats.forwarded += 1;
        if (attempt > 0) this.stats.retried += 1;
        res.writeHead(answer.status, answer.headers);
        res.end(answer.body);
        return;
      } catch {
        // connection refused or reset: the instance is down or just died; try the other one
      }
    }
    this.stats.noBackend += 1;
    res.writeHead(502, { 'content-type': 'text/plain' });
    res.end('no calsync instance is up');
  }
}

function forward(
  port: number,
  req: http.IncomingMessage,
  body: Buffer,
): Promise<{ status: number; headers: http.OutgoingHttpHeaders; body: Buffer }> {
  return new Promise((resolveForward, reject) => {
    const headers = { ...req.headers, host: `127.0.0.1:${port}`, connection: 'close' };
    delete headers['transfer-encoding'];
    headers['content-length'] = String(body.length);
    const out = http.request(
      { host: '127.0.0.1', port, method: req.method, path: req.url, headers, timeout: 15_000 },
      (answer) => {
        const parts: Buffer[] = [];
        answer.on('data', (c: Buffer) => parts.push(c));
        answer.on('end', () => {
          const h = { ...answer.headers };
          delete h['transfer-encoding'];
          delete h.connection;
          resolveForward({ status: answer.statusCode ?? 502, headers: h, body: Buffer.concat(parts) });
        });
        answer.on('error', reject);
      },
    );
    out.on('timeout', () => out.destroy(new Error('timeout')));
    out.on('error', reject);
    out.end(body);
  });
}

// ---- build ------------------------------------------------------------------------------------------

function newestMtime(dir: string): number {
  let newest = 0;
  if (!existsSync(dir)) return newest;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * Makes sure `dist/` holds the service as the sources are now (`npm run build`, as bench and demo do),
 * skipping the compiler when nothing in src/ or migrations/ changed since the last build. A build with
 * type errors still emits JavaScript; that is reported and the run goes on with what was emitted.
 */
export async function ensureBuilt(root: string, log: (line: string) => void): Promise<void> {
  const info = join(root, 'dist', '.tsbuildinfo');
  const main = join(root, 'dist', 'src', 'main.js');
  const sources = Math.max(newestMtime(join(root, 'src')), newestMtime(join(root, 'migrations')));
  if (existsSync(info) && existsSync(main) && statSync(info).mtimeMs >= sources) return;
  log('building dist/ (npm run build)…');
  const started = performance.now();
  const code = await new Promise<number>((resolveBuild) => {
    const child = spawn('npm', ['run', 'build', '--silent'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.on('exit', (exitCode) => {
      if (exitCode !== 0) log(output.trim().split('\n').slice(0, 20).join('\n'));
      resolveBuild(exitCode ?? 1);
    });
  });
  if (code !== 0 && !existsSync(main)) throw new Error('npm run build failed and dist/src/main.js does not exist');
  if (code !== 0) log('npm run build reported errors; running what it emitted');
  log(`built in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

export function makeWorkDir(keepPath?: string): string {
  const dir = keepPath ? resolve(keepPath) : mkdtempSync(join(tmpdir(), 'calsync-chaos-'));
  mkdirSync(join(dir, 'logs'), { recursive: true });
  return dir;
}
