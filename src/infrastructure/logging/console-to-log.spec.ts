import { Writable } from 'node:stream';
import { loggerParams, routeConsoleTo } from './logging.js';

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.text += chunk.toString('utf8');
    done();
  }
}

describe('routeConsoleTo', () => {
  it('turns what dependencies print on console into JSON log lines, one per call, and puts console back', () => {
    const out = new Capture();
    const before = { error: console.error, trace: console.trace, log: console.log };
    const restore = routeConsoleTo(loggerParams({ logLevel: 'debug', logFormat: 'json' }, { destination: out }));
    try {
      // As graphile-worker prints: a worker that exited with an error, and a retried job end.
      console.trace(Object.assign(new Error('Connection terminated unexpectedly'), { code: 'ECONNRESET' }));
      console.error('completeJob: attempt %d/%d failed; retrying after %dms. Error: %s', 1, 5, 200, 'boom');
      console.warn({ task: 'sync-calendar' }, 'multi\nline');
      console.log('plain');
      console.debug('details');
      console.trace('where am I');
    } finally {
      restore();
    }
    expect({ error: console.error, trace: console.trace, log: console.log }).toEqual(before);
    const lines = out.text.trim().split('\n');
    expect(lines).toHaveLength(6);
    const [trace, error, warn, log, debug, bareTrace] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(trace).toMatchObject({ level: 'error', context: 'console', msg: 'Error: Connection terminated unexpectedly' });
    expect((trace.err as { stack: string; code: string }).stack).toContain('Connection terminated unexpectedly');
    expect((trace.err as { code: string }).code).toBe('ECONNRESET');
    expect(error).toMatchObject({ level: 'error', msg: 'completeJob: attempt 1/5 failed; retrying after 200ms. Error: boom' });
    expect(warn).toMatchObject({ level: 'warn', msg: "{ task: 'sync-calendar' } multi\nline" });
    expect(log).toMatchObject({ level: 'info', msg: 'plain' });
    expect(debug).toMatchObject({ level: 'debug', msg: 'details' });
    expect(bareTrace).toMatchObject({ level: 'error', msg: 'where am I' });
    expect(bareTrace.stack).toEqual(expect.stringContaining('console-to-log.spec'));
  });
});
