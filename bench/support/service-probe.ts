/**
 * Loaded into a bench's service process before the service itself (`node --import <this file>
 * dist/src/main.js`, see `service-process.ts`): the bench's instrument inside that process, which
 * the service knows nothing about. It answers the bench over the IPC channel the bench opened:
 *
 * - `meter-start` / `meter-stop`: from start to stop, every statement's round trip as the
 *   process's `pg` clients see it (TypeORM's pool and graphile-worker's use the one `pg` module),
 *   counted and summed; `pg.Client.prototype.query` is wrapped only in between;
 * - `memory`: `process.memoryUsage()`, and with `gc: true` once more after a full garbage
 *   collection (`--expose-gc` set at run time, `gc` taken from a new context);
 * - `watch` / `watched`: `watch` arms a watch for the next observation of the histogram called
 *   `metric` (prom-client's `Histogram.prototype.observeWithoutExemplar`, wrapped when this file
 *   loads, before the service makes its histograms; the wrapper does nothing more than a property
 *   check while no watch is armed); `watched` answers with that observation (its labels and value)
 *   as soon as it has happened, so a bench learns when, say, a sync run ended without polling.
 *
 * When the channel closes (the bench process ended, however it ended), the service is sent
 * SIGTERM, so it shuts down as on a deployment's stop and no process outlives its bench.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import pg from 'pg';
import promClient from 'prom-client';

export interface ProbeRequest {
  id: number;
  op: 'meter-start' | 'meter-stop' | 'memory' | 'watch' | 'watched';
  gc?: boolean;
  /** For `watch`: the histogram's name, e.g. `calsync_sync_duration_seconds`. */
  metric?: string;
}

export interface ProbeObservation {
  metric: string;
  labels: Record<string, string>;
  value: number;
}

export interface ProbeMeter {
  statements: number;
  ms: number;
  /** The same by statement: its text's start, whitespace folded (`STATEMENT_KEY_LENGTH` characters). */
  byStatement: Record<string, { count: number; ms: number }>;
}

const STATEMENT_KEY_LENGTH = 72;

/** A meter's statements, longest round trips summed first. */
export function longestStatements(meter: ProbeMeter): Array<{ statement: string; count: number; ms: number }> {
  return Object.entries(meter.byStatement)
    .map(([statement, { count, ms }]) => ({ statement, count, ms }))
    .sort((x, y) => y.ms - x.ms);
}

function statementKey(query: unknown): string {
  const text = typeof query === 'string' ? query : ((query as { text?: unknown } | null)?.text ?? '');
  return String(text).replace(/\s+/g, ' ').trim().slice(0, STATEMENT_KEY_LENGTH);
}

export interface ProbeMemory {
  usage: NodeJS.MemoryUsage;
  afterGc: NodeJS.MemoryUsage | null;
}

const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
const original = proto.query;
let meter: ProbeMeter | null = null;

function startMeter(): void {
  const current: ProbeMeter = { statements: 0, ms: 0, byStatement: {} };
  meter = current;
  proto.query = function (this: unknown, ...args: unknown[]) {
    const started = performance.now();
    const key = statementKey(args[0]);
    const done = () => {
      const ms = performance.now() - started;
      current.statements += 1;
      current.ms += ms;
      const entry = (current.byStatement[key] ??= { count: 0, ms: 0 });
      entry.count += 1;
      entry.ms += ms;
    };
    const last = args[args.length - 1];
    if (typeof last === 'function') {
      args[args.length - 1] = (...cb: unknown[]) => {
        done();
        return (last as (...a: unknown[]) => unknown)(...cb);
      };
      return original.apply(this, args);
    }
    const result = original.apply(this, args);
    if (result && typeof (result as Promise<unknown>).then === 'function') {
      (result as Promise<unknown>).then(done, done);
    }
    return result;
  };
}

function stopMeter(): ProbeMeter {
  proto.query = original;
  const result = meter ?? { statements: 0, ms: 0, byStatement: {} };
  meter = null;
  return result;
}

type Observe = (this: { name: string }, labels: unknown, value?: number) => void;
const histogramProto = promClient.Histogram.prototype as unknown as { observeWithoutExemplar: Observe };
const observe = histogramProto.observeWithoutExemplar;
let watch: { metric: string; seen: ProbeObservation | null; notify: ((seen: ProbeObservation) => void) | null } | null = null;
histogramProto.observeWithoutExemplar = function (this: { name: string }, labels: unknown, value?: number) {
  observe.call(this, labels, value);
  if (watch === null || watch.seen !== null || this.name !== watch.metric) return;
  const plain = typeof labels === 'number';
  watch.seen = {
    metric: watch.metric,
    labels: plain ? {} : Object.fromEntries(Object.entries(labels ?? {}).map(([k, v]) => [k, String(v)])),
    value: plain ? labels : (value ?? Number.NaN),
  };
  watch.notify?.(watch.seen);
};

function watched(): Promise<ProbeObservation> {
  const current = watch;
  if (!current) return Promise.reject(new Error('no watch armed'));
  return new Promise((resolve) => {
    const done = (seen: ProbeObservation) => {
      if (watch === current) watch = null;
      resolve(seen);
    };
    if (current.seen) done(current.seen);
    else current.notify = done;
  });
}

function collectGarbage(): boolean {
  try {
    if (typeof globalThis.gc !== 'function') setFlagsFromString('--expose-gc');
    const gc = (globalThis.gc ?? runInNewContext('gc')) as (() => void) | undefined;
    if (typeof gc !== 'function') return false;
    gc();
    return true;
  } catch {
    return false;
  }
}

function answer(request: ProbeRequest): unknown {
  switch (request.op) {
    case 'meter-start':
      startMeter();
      return { started: true };
    case 'meter-stop':
      return stopMeter();
    case 'memory': {
      const usage = process.memoryUsage();
      const afterGc = request.gc && collectGarbage() ? process.memoryUsage() : null;
      return { usage, afterGc } satisfies ProbeMemory;
    }
    case 'watch':
      if (!request.metric) throw new Error('watch: no metric');
      watch = { metric: request.metric, seen: null, notify: null };
      return { armed: true };
    case 'watched':
      return watched();
  }
}

if (process.send) {
  process.on('message', (message: ProbeRequest) => {
    new Promise((resolve) => resolve(answer(message))).then(
      (result) => process.send?.({ id: message.id, result }),
      (error: unknown) => process.send?.({ id: message.id, error: String(error) }),
    );
  });
  process.once('disconnect', () => {
    process.kill(process.pid, 'SIGTERM');
    // The service's own shutdown ends the process; should it hang, this does.
    setTimeout(() => process.exit(1), 15_000).unref();
  });
}
