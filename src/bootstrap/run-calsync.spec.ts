import { requestedLogFormat } from '../config/load-config.js';
import { fatalLine } from './run-calsync.js';

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
