import { ConfigError } from './config.error.js';
import { loadConfig } from './load-config.js';

const base = { NODE_ENV: 'test' };
const load = (env: Record<string, string>) => loadConfig({ ...base, ...env }, { persistGeneratedSecrets: false });

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const config = load({});
    expect(config).toMatchObject({
      port: 3000,
      appUrl: 'http://localhost:3000',
      databaseUrl: null,
      syncWindowDays: 92,
      resyncIntervalSeconds: 900,
      subscriptionRenewBeforeSeconds: 86400,
      google: {
        enabled: false,
        apiRootUrl: 'https://www.googleapis.com/',
        oauthTokenUrl: 'https://oauth2.googleapis.com/token',
        webhookUrl: 'http://localhost:3000',
      },
      microsoft: {
        graphBaseUrl: 'https://graph.microsoft.com',
        tokenUrl: 'https://login.microsoftonline.com/common/oauth2/v2.0/token',
      },
      sandbox: true,
    });
    expect(config.encryptionKey).toHaveLength(32);
    expect(config.generated).toEqual({ apiKey: true, adminApiKey: true, encryptionKey: true });
  });

  it('derives APP_URL from PORT and webhook URLs from APP_URL', () => {
    expect(load({ PORT: '8080' }).appUrl).toBe('http://localhost:8080');
    const config = load({ APP_URL: 'https://calsync.example.com/' });
    expect(config.google.webhookUrl).toBe('https://calsync.example.com');
    expect(config.microsoft.webhookUrl).toBe('https://calsync.example.com');
  });

  it('accepts a 32-byte key as hex or base64', () => {
    const hex = 'ab'.repeat(32);
    expect(load({ ENCRYPTION_KEY: hex }).encryptionKey.toString('hex')).toBe(hex);
    const b64 = Buffer.alloc(32, 7).toString('base64');
    expect(load({ ENCRYPTION_KEY: b64 }).encryptionKey).toEqual(Buffer.alloc(32, 7));
  });

  it.each([
    [{ PORT: 'eighty' }, 'PORT must be a whole number'],
    [{ SYNC_WINDOW_DAYS: '0' }, 'SYNC_WINDOW_DAYS must be between 1 and 730'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL must be a postgres: or postgresql: URL'],
    [{ GOOGLE_API_ROOT_URL: 'not a url' }, 'GOOGLE_API_ROOT_URL must be a URL'],
    [{ ENCRYPTION_KEY: 'short' }, 'ENCRYPTION_KEY must be 32 bytes'],
    [{ GOOGLE_CLIENT_ID: 'id', GOOGLE_CLIENT_SECRET: 'secret' }, 'GOOGLE_WEBHOOK_TOKEN is required when Google is enabled'],
    [{ MICROSOFT_CLIENT_ID: 'id' }, 'MICROSOFT_WEBHOOK_TOKEN is required when Microsoft is enabled'],
    [{ API_KEY: 'same-key-123456789', ADMIN_API_KEY: 'same-key-123456789' }, 'API_KEY and ADMIN_API_KEY must differ'],
    [{ NODE_ENV: 'production' }, 'API_KEY is required in production'],
    [{ NODE_ENV: 'production' }, 'ENCRYPTION_KEY is required in production'],
  ])('stops with a message naming the variable: %p', (env, message) => {
    expect(() => load(env as Record<string, string>)).toThrow(ConfigError);
    expect(() => load(env as Record<string, string>)).toThrow(message);
  });

  it('lists every problem at once', () => {
    try {
      load({ PORT: 'x', RESYNC_INTERVAL_SECONDS: '-1' });
      throw new Error('expected a ConfigError');
    } catch (error) {
      expect((error as ConfigError).problems).toHaveLength(2);
    }
  });
});
