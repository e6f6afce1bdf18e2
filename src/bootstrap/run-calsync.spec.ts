import { requestedLogFormat } from '../config/load-config.js';
import { fatalLine, listeningFields } from './run-calsync.js';
import type { Sandbox } from './sandbox.js';

describe('the line a start that fails leaves on stderr', () => {
  const message = 'calsync cannot start: ENCRYPTION_KEY does not open the stored credentials';

  it('is one JSON object, as every other line, when LOG_FORMAT is json', () => {
    const line = fatalLine('json', message, new Date('2026-12-04T10:00:00.000Z'));
    expect(line.endsWith('\n')).toBe(true);
    expect(line.trimEnd().split('\n')).toHaveLength(1);
    expect(JSON.parse(line)).toEqual({ level: 'fatal', time: '2026-12-04T10:00:00.000Z', service: 'calsync', msg: message });
  });

  it('is the message itself otherwise (pretty, or before the configuration was read)', () => {
    expect(fatalLine('pretty', message)).toBe(`${message}\n`);
    expect(fatalLine(undefined, message)).toBe(`${message}\n`);
  });
});

describe('the log format a configuration that did not load still asks for', () => {
  it('is LOG_FORMAT when it names one, json by default in production, pretty otherwise', () => {
    expect(requestedLogFormat({ LOG_FORMAT: 'json' })).toBe('json');
    expect(requestedLogFormat({ LOG_FORMAT: 'pretty', NODE_ENV: 'production' })).toBe('pretty');
    expect(requestedLogFormat({ NODE_ENV: 'production' })).toBe('json');
    expect(requestedLogFormat({ NODE_ENV: 'production', LOG_FORMAT: 'xml' })).toBe('pretty');
    expect(requestedLogFormat({})).toBe('pretty');
  });
});

describe('the JSON line that says where the service listens (LOG_FORMAT json)', () => {
  const config = {
    appUrl: 'http://localhost:3000',
    dataDir: '/srv/calsync/.data',
    generated: { apiKey: true, adminApiKey: false, encryptionKey: false },
  };
  const sandbox = {
    accounts: [
      { provider: 'google_calendar', url: 'http://127.0.0.1:4100/', email: 'demo@sandbox', refreshToken: 'rt-secret' },
      { provider: 'office365_calendar', url: 'https://127.0.0.1:4200', email: 'demo@outlook', refreshToken: 'rt-secret' },
    ],
  } as unknown as Sandbox;

  it('names the sandbox calendars and the example to try, and where generated keys are kept, never a key or token', () => {
    const fields = listeningFields(config, 'embedded', sandbox, '/srv/calsync/.data/sandbox-example.sh');
    expect(fields).toEqual({
      url: 'http://localhost:3000',
      database: 'embedded',
      generatedKeysIn: '/srv/calsync/.data/dev-secrets.json',
      sandbox: [
        { provider: 'google_calendar', url: 'http://127.0.0.1:4100/', account: 'demo@sandbox' },
        { provider: 'office365_calendar', url: 'https://127.0.0.1:4200', account: 'demo@outlook' },
      ],
      example: '/srv/calsync/.data/sandbox-example.sh',
    });
    expect(JSON.stringify(fields)).not.toContain('rt-secret');
  });

  it('has neither without a sandbox or generated keys (real providers, keys set)', () => {
    expect(
      listeningFields({ ...config, generated: { apiKey: false, adminApiKey: false, encryptionKey: false } }, 'db.internal:5432'),
    ).toEqual({
      url: 'http://localhost:3000',
      database: 'db.internal:5432',
    });
  });
});
