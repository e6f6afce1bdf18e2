/**
 * The service under test as its own OS process: `node dist/src/main.js`, the entry point production
 * runs, configured only through its environment, on its own database, measured from outside
 * (`/proc/<pid>/status` and `/stat`, `/metrics`). Used through `own-service.ts` by the scale bench,
 * whose memory figure is the service's alone, and the full-sync benches, whose sync runs are timed
 * by the service's own histogram.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import pg from 'pg';
import { DataSource } from 'typeorm';
import { sleep } from './bench-env.js';
import type { ProbeMemory, ProbeMeter, ProbeObservation, ProbeRequest } from './service-probe.js';

/** The repository root: the folder holding package.json and the built service, from here in dist/. */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'dist', 'src', 'main.js'))) return dir;
    dir = dirname(dir);
  }
  throw new Error('dist/src/main.js not found above the bench: run `npm run build` first');
}

// ---- a database of its own ------------------------------------------------------------------------

export interface OwnDatabase {
  name: string;
  url: string;
  /** Drops it (`WITH (FORCE)`: connections still open are ended). */
  drop(): Promise<void>;
}

/**
 * A new, empty database on the server of `url` (the run's database), created and dropped through a
 * connection to `url` itself. The service migrates it at its start. Needs the CREATEDB privilege
 * (the embedded server's user has it; on DATABASE_URL the test suite needs it too).
 */
export async function createOwnDatabase(url: string, prefix: string): Promise<OwnDatabase> {
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  try {
    await admin(`CREATE DATABASE "${name}"`);
  } catch (error) {
    throw new Error(`could not create the database ${name} on the run's server (CREATEDB needed): ${String(error)}`, {
      cause: error,
    });
  }
  const own = new URL(url);
  own.pathname = `/${name}`;
  let dropped = false;
  return {
    name,
    url: own.toString(),
    async drop() {
      if (dropped) return;
      dropped = true;
      await admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    },
  };
}

/** A small TypeORM DataSource (no entities) for the bench's own SQL: set-up, checks, waits. */
export async function benchDataSource(url: string): Promise<DataSource> {
  const dataSource = new DataSource({ type: 'postgres', url, entities: [], poolSize: 4 });
  await dataSource.initialize();
  return dataSource;
}

// ---- the process --------------------------------------------------------------------------------

export interface ProcessMemory {
  /** VmRSS: resident now, bytes. */
  rss: number;
  /** VmHWM: the most it was ever resident, bytes. */
  peak: number;
  /** RssAnon: of `rss`, anonymous memory (V8's heap, malloc), bytes. */
  anonymous: number;
  /** RssFile: of `rss`, file-backed pages (the node binary, shared libraries), bytes. */
  file: number;
}

/** Every service process a bench started and has not seen exit: killed on the way out whatever happens. */
const live = new Set<ServiceProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Synchronous last resort (process.exit, an uncaught error): SIGKILL whatever is still running.
  // Should the bench process itself be killed, each service's IPC channel closes and its probe
  // sends it SIGTERM.
  process.on('exit', () => {
    for (const service of live) service.killNow();
  });
}

/** Stops every service process still running (SIGTERM, SIGKILL after a while). */
export async function stopServiceProcesses(): Promise<void> {
  await Promise.all([...live].map((service) => service.stop()));
}

/**
 * One calsync process: `node --import <probe> dist/src/main.js` with `env` as its whole
 * environment (plus PATH and HOME), its output appended to `logFile`. `start` resolves once
 * `/health/ready` answers 200 (migrated, worker running).
 */
export class ServiceProcess {
  private proc: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  private exitNote = '';
  private nextId = 0;
  private readonly pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();

  constructor(
    readonly name: string,
    readonly port: number,
    private readonly env: Record<string, string>,
    readonly logFile: string,
    /** Node flags before the entry point (diagnostics only: production runs none). */
    readonly nodeArgs: readonly string[] = [],
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number {
    if (!this.proc?.pid) throw new Error(`service ${this.name} is not running`);
    return this.proc.pid;
  }

  async start(timeoutMs = 120_000): Promise<number> {
    if (this.proc) throw new Error(`service ${this.name} is already running`);
    installExitHook();
    const root = repoRoot();
    const probe = pathToFileURL(join(root, 'dist', 'bench', 'support', 'service-probe.js')).href;
    writeFileSync(this.logFile, `===== ${new Date().toISOString()} ${this.name}: node dist/src/main.js =====\n`, { flag: 'a' });
    const fd = openSync(this.logFile, 'a');
    const spawnedAt = performance.now();
    let proc: ChildProcess;
    try {
      proc = spawn(process.execPath, [...this.nodeArgs, '--import', probe, join(root, 'dist', 'src', 'main.js')], {
        cwd: root,
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...this.env },
        stdio: ['ignore', fd, fd, 'ipc'],
      });
    } finally {
      closeSync(fd);
    }
    this.proc = proc;
    live.add(this);
    this.exited = new Promise<void>((resolve) => {
      proc.once('exit', (code, signal) => {
        this.exitNote = signal ?? `code ${code}`;
        live.delete(this);
        if (this.proc === proc) this.proc = null;
        for (const waiter of this.pending.values()) waiter.reject(new Error(`service ${this.name} exited (${this.exitNote})`));
        this.pending.clear();
        resolve();
      });
    });
    proc.on('message', (message: { id: number; result?: unknown; error?: string }) => {
      const waiter = this.pending.get(message.id);
      if (!waiter) return;
      this.pending.delete(message.id);
      if (message.error) waiter.reject(new Error(message.error));
      else waiter.resolve(message.result);
    });
    // The channel must not keep the bench process alive on its own.
    proc.channel?.unref();
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline) {
      if (this.proc !== proc) throw new Error(`service ${this.name} exited while starting (${this.exitNote}): ${this.logTail()}`);
      if (await ready(this.url)) return performance.now() - spawnedAt;
      await sleep(50);
    }
    await this.stop();
    throw new Error(`service ${this.name} was not ready within ${timeoutMs / 1000} s: ${this.logTail()}`);
  }

  /** RSS now and its high-water mark, from /proc/<pid>/status (Linux). */
  memory(): ProcessMemory {
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const kb = (field: string) => {
      const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
      if (!match) throw new Error(`${field} missing from /proc/${this.pid}/status`);
      return Number(match[1]) * 1024;
    };
    return { rss: kb('VmRSS'), peak: kb('VmHWM'), anonymous: kb('RssAnon'), file: kb('RssFile') };
  }

  /** CPU time the process has used so far (user + system, from /proc/<pid>/stat; Linux), in ms. */
  cpuMs(): number {
    return procCpuMs(this.pid);
  }

  /** The probe's `process.memoryUsage()` (and after a full GC, when asked). */
  memoryUsage(gc = false): Promise<ProbeMemory> {
    return this.ask({ op: 'memory', gc }) as Promise<ProbeMemory>;
  }

  /** Meters the service's database statements from now until `stop`. */
  async meterDatabase(): Promise<{ stop(): Promise<ProbeMeter> }> {
    await this.ask({ op: 'meter-start' });
    return { stop: () => this.ask({ op: 'meter-stop' }) as Promise<ProbeMeter> };
  }

  /**
   * Arms a watch (in the probe) for the next observation of the service's histogram `metric`; the
   * returned promise resolves with it (labels and value) as soon as the service has made it, or
   * rejects after `timeoutMs`. Resolves once the watch is armed, so whatever the bench does next
   * cannot be missed.
   */
  async watchHistogram(metric: string, timeoutMs = 60_000): Promise<{ observed: Promise<ProbeObservation> }> {
    await this.ask({ op: 'watch', metric });
    const observed = this.ask({ op: 'watched' }, timeoutMs) as Promise<ProbeObservation>;
    // Awaited by the caller; not an unhandled rejection should the caller give up first.
    observed.catch(() => undefined);
    return { observed };
  }

  /**
   * A heap snapshot written by the service itself (it must have been started with
   * `--heapsnapshot-signal=SIGUSR2` and `--diagnostic-dir=<dir>`): resolves with its path once
   * written. The snapshot is written on the service's main thread, so the probe's answer after the
   * signal comes only once it is complete.
   */
  async heapSnapshot(dir: string): Promise<string> {
    const before = new Set(readdirSync(dir));
    process.kill(this.pid, 'SIGUSR2');
    const deadline = performance.now() + 120_000;
    for (;;) {
      await this.memoryUsage();
      const written = readdirSync(dir).find((f) => f.endsWith('.heapsnapshot') && !before.has(f));
      if (written) return join(dir, written);
      if (performance.now() > deadline) throw new Error(`service ${this.name}: no heap snapshot in ${dir}`);
      await sleep(200);
    }
  }

  /** SIGTERM (the service drains and closes), SIGKILL after 15 s. */
  async stop(): Promise<void> {
    const proc = this.proc;
    if (!proc) return;
    proc.kill('SIGTERM');
    const done = await Promise.race([this.exited.then(() => true), sleep(15_000).then(() => false)]);
    if (!done) {
      proc.kill('SIGKILL');
      await this.exited;
    }
  }

  killNow(): void {
    this.proc?.kill('SIGKILL');
  }

  private ask(request: Omit<ProbeRequest, 'id'>, timeoutMs = 30_000): Promise<unknown> {
    const proc = this.proc;
    if (!proc?.connected) return Promise.reject(new Error(`service ${this.name} is not running`));
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`service ${this.name}: no answer to ${request.op} within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      proc.send({ ...request, id });
    });
  }

  private logTail(): string {
    try {
      return readFileSync(this.logFile, 'utf8').trim().split('\n').slice(-15).join('\n');
    } catch {
      return `(no log in ${this.logFile})`;
    }
  }
}

async function ready(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/health/ready`, { signal: AbortSignal.timeout(2000) });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}

// ---- CPU time from /proc ----------------------------------------------------------------------------

/** Linux's USER_HZ, the unit of the CPU times in /proc/<pid>/stat. */
const CLOCK_TICKS = 100;

/** User + system CPU time of a process so far, in ms (throws where /proc/<pid>/stat cannot be read). */
function procCpuMs(pid: number): number {
  // The command name (in parentheses) may hold spaces: the fields are counted after it.
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
}

/**
 * CPU time all the machine's cores have spent busy so far (every state of /proc/stat's `cpu` line
 * but idle and iowait), in ms; null where /proc/stat cannot be read. Against the CPU of the
 * processes a bench knows, it tells how much went to other work on the machine meanwhile.
 */
export function machineCpuMs(): number | null {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is already counted in user)
    const busy = fields.slice(0, 8).reduce((sum, v, i) => (i === 3 || i === 4 ? sum : sum + v), 0);
    return (busy * 1000) / CLOCK_TICKS;
  } catch {
    return null;
  }
}

/**
 * CPU time of the database's backends (user + system, from /proc), when PostgreSQL runs on this
 * machine as the embedded server does: the work the statements cost PostgreSQL, without the waits
 * that a statement's round trip also counts. Backends are sampled by pid before and after (the
 * pools keep theirs); one that ends in between is missed. Null where /proc is not readable.
 */
export async function postgresCpu(dataSource: DataSource): Promise<{ stop(): Promise<number | null> }> {
  const sample = async (): Promise<Map<number, number> | null> => {
    const rows: Array<{ pid: number }> = await dataSource.query(
      `SELECT pid FROM pg_stat_activity WHERE datname = current_database() OR backend_type <> 'client backend'`,
    );
    const cpu = new Map<number, number>();
    for (const { pid } of rows) {
      try {
        // A pid of a remote server's backend may be anything here: only PostgreSQL's own processes count.
        if (!readFileSync(`/proc/${pid}/comm`, 'utf8').startsWith('postgres')) continue;
        cpu.set(pid, procCpuMs(pid));
      } catch {
        // not on this machine, or gone
      }
    }
    return cpu.size > 0 ? cpu : null;
  };
  const before = await sample();
  return {
    async stop() {
      const after = await sample();
      if (!before || !after) return null;
      let ms = 0;
      for (const [pid, value] of after) ms += value - (before.get(pid) ?? 0);
      return ms;
    },
  };
}

// ---- counters over /metrics ---------------------------------------------------------------------

/**
 * The service's own counters, scraped from its `/metrics` (METRICS_AUTH=none): sync runs, and
 * pushes by result, as `intakeCounters` reads them from an in-process app.
 */
export async function scrapeIntakeCounters(
  baseUrl: string,
  provider?: string,
): Promise<{ syncRuns: number; pushes: Record<string, number> }> {
  const res = await fetch(`${baseUrl}/metrics`);
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET /metrics: HTTP ${res.status} ${text.slice(0, 200)}`);
  let syncRuns = 0;
  const pushes: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const match = /^(calsync_sync_runs_total|calsync_notifications_received_total)\{([^}]*)\} (\S+)$/.exec(line);
    if (!match) continue;
    const labels = Object.fromEntries([...match[2].matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (provider && labels.provider !== provider) continue;
    const value = Number(match[3]);
    if (match[1] === 'calsync_sync_runs_total') syncRuns += value;
    else pushes[labels.result] = (pushes[labels.result] ?? 0) + value;
  }
  return { syncRuns, pushes };
}

/** One sample of the service's `/metrics` (Prometheus text format): `name{labels} value`. */
export interface MetricSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Every sample the service exports at `/metrics` (METRICS_AUTH=none). */
export async function scrapeMetrics(baseUrl: string): Promise<MetricSample[]> {
  const res = await fetch(`${baseUrl}/metrics`);
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET /metrics: HTTP ${res.status} ${text.slice(0, 200)}`);
  const samples: MetricSample[] = [];
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{([^}]*)\})? (\S+)/.exec(line);
    if (!match) continue;
    const labels = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return samples;
}

/** The sum of the samples called `name` whose labels include `labels` (0 when there is none). */
export function metricValue(samples: readonly MetricSample[], name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const sample of samples) {
    if (sample.name !== name) continue;
    if (Object.entries(labels).every(([key, value]) => sample.labels[key] === value)) total += sample.value;
  }
  return total;
}
