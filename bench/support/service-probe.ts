/**
 * Loaded into a bench's service process before the service itself (`node --import <this file>
 * dist/src/main.js`, see `service-process.ts`): the bench's instrument inside that process, which
 * the service knows nothing about. It answers the bench over the IPC channel the bench opened:
 *
 * - `meter-start` / `meter-stop`: from start to stop, every statement's round trip as the
 *   process's `pg` clients see it (TypeORM's pool and graphile-worker's use the one `pg` module),
 *   counted and summed; `pg.Client.prototype.query` is wrapped only in between;
 * - `memory`: `process.memoryUsage()`, and with `gc: true` once more after a full garbage
 *   collection (`--expose-gc` set at run time, `gc` taken from a new context).
 *
 * When the channel closes (the bench process ended, however it ended), the service is sent
 * SIGTERM, so it shuts down as on a deployment's stop and no process outlives its bench.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import pg from 'pg';

export interface ProbeRequest {
  id: number;
  op: 'meter-start' | 'meter-stop' | 'memory';
  gc?: boolean;
}

export interface ProbeMeter {
  statements: number;
  ms: number;
}

export interface ProbeMemory {
  usage: NodeJS.MemoryUsage;
  afterGc: NodeJS.MemoryUsage | null;
}

const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
const original = proto.query;
let meter: ProbeMeter | null = null;

function startMeter(): void {
  const current: ProbeMeter = { statements: 0, ms: 0 };
  meter = current;
  proto.query = function (this: unknown, ...args: unknown[]) {
    const started = performance.now();
    const done = () => {
      current.statements += 1;
      current.ms += performance.now() - started;
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
  const result = meter ?? { statements: 0, ms: 0 };
  meter = null;
  return result;
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
  }
}

if (process.send) {
  process.on('message', (message: ProbeRequest) => {
    let reply: unknown;
    try {
      reply = { id: message.id, result: answer(message) };
    } catch (error) {
      reply = { id: message.id, error: String(error) };
    }
    process.send?.(reply);
  });
  process.once('disconnect', () => {
    process.kill(process.pid, 'SIGTERM');
    // The service's own shutdown ends the process; should it hang, this does.
    setTimeout(() => process.exit(1), 15_000).unref();
  });
}
