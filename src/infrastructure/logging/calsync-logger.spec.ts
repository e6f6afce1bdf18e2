import { Writable } from 'node:stream';
import { CalsyncLogger, loggerParams } from './logging.js';

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.text += chunk.toString('utf8');
    done();
  }
}

// A file of its own: nestjs-pino keeps the first logger's stream for the whole module registry.
describe('CalsyncLogger', () => {
  it('keeps the error a caller passes after the message (Nest CQRS: a command a saga started threw)', () => {
    const out = new Capture();
    const logger = new CalsyncLogger(loggerParams({ logLevel: 'log', logFormat: 'json' }, { destination: out }));
    const cause = Object.assign(new Error('sorry, too many clients already'), { code: '53300' });
    logger.error('Command handler which execution was triggered by Saga has thrown an unhandled exception.', cause, 'EventBus');
    logger.error('plain', 'EventBus');
    const [withCause, plain] = out.text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { level: string; context: string; msg: string; err?: { message: string; stack: string } });
    expect(withCause).toMatchObject({
      level: 'error',
      context: 'EventBus',
      msg: 'Command handler which execution was triggered by Saga has thrown an unhandled exception.',
      err: { message: 'sorry, too many clients already' },
    });
    expect(withCause.err?.stack).toContain('too many clients');
    expect(plain).toMatchObject({ level: 'error', context: 'EventBus', msg: 'plain' });
    expect(plain.err).toBeUndefined();
  });
});
