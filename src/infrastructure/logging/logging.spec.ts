import { Writable } from 'node:stream';
import { CalsyncLogger, createRootLogger, loggerParams, safeUrl } from './logging.js';

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.text += chunk.toString('utf8');
    done();
  }
}

describe('logging', () => {
  it('pretty: readable lines, coloured on a terminal only', () => {
    const pipe = new Capture();
    createRootLogger({ logLevel: 'log', logFormat: 'pretty' }, { destination: pipe, isTTY: false }).info(
      { context: 'Sync' },
      'hello',
    );
    expect(pipe.text).toMatch(/^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\] INFO: \[Sync\] hello/);
    expect(pipe.text).not.toContain('\u001b[');
    const terminal = new Capture();
    createRootLogger({ logLevel: 'log', logFormat: 'pretty' }, { destination: terminal, isTTY: true }).info('hello');
    expect(terminal.text).toContain('\u001b[');
  });

  it('json: level name, ISO time and msg; secrets redacted wherever code logs them', () => {
    const out = new Capture();
    createRootLogger({ logLevel: 'log', logFormat: 'json' }, { destination: out }).warn(
      {
        credential: { accessToken: 'at-1', refreshToken: 'rt-1', nested: { clientSecret: 'cs-1' } },
        headers: { authorization: 'Bearer key-1', cookie: 'c-1', 'x-goog-channel-token': 'gt-1' },
        encryptedSecret: 'es-1',
        webhook: { secret: 'whsec_1' },
        err: Object.assign(new Error('provider said no'), { config: { headers: { Authorization: 'Bearer e-1' } } }),
        list: [{ refresh_token: 'rt-2' }],
      },
      'careful',
    );
    const line = JSON.parse(out.text) as Record<string, unknown>;
    expect(line).toMatchObject({ level: 'warn', msg: 'careful', time: expect.stringMatching(/^\d{4}-\d\d-\d\dT.*Z$/) });
    for (const secret of ['at-1', 'rt-1', 'cs-1', 'key-1', 'c-1', 'gt-1', 'es-1', 'whsec_1', 'e-1', 'rt-2'])
      expect(out.text).not.toContain(secret);
    expect(out.text).toContain('[redacted]');
    // The error keeps what says what went wrong.
    expect(line.err).toMatchObject({ message: 'provider said no', stack: expect.stringContaining('provider said no') });
  });

  it('hides secret-looking query values in logged URLs', () => {
    expect(safeUrl('/api/v1/integrations/google_calendar/oauth/callback?code=abc&state=def&scope=x')).toBe(
      '/api/v1/integrations/google_calendar/oauth/callback?code=[redacted]&state=[redacted]&scope=x',
    );
    expect(safeUrl('/api/webhooks/x?validationToken=v')).toBe('/api/webhooks/x?validationToken=[redacted]');
    expect(safeUrl('/api/v1/bookings?limit=5')).toBe('/api/v1/bookings?limit=5');
  });

  it('moves Nest’s route-mapping lines to debug level and keeps everything else', () => {
    const out = new Capture();
    const logger = new CalsyncLogger(loggerParams({ logLevel: 'debug', logFormat: 'json' }, { destination: out }));
    logger.log('Mapped {/api/v1/bookings, POST} route', 'RouterExplorer');
    logger.log('BookingsController {/api/v1/bookings}:', 'RoutesResolver');
    logger.log('Nest application successfully started', 'NestApplication');
    const lines = out.text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { level: string; context: string });
    expect(lines.map((l) => [l.context, l.level])).toEqual([
      ['RouterExplorer', 'debug'],
      ['RoutesResolver', 'debug'],
      ['NestApplication', 'info'],
    ]);
  });
});
