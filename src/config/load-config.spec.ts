import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from './config.error.js';
import { loadConfig, loadDatabaseUrl, quotableUrl } from './load-config.js';

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
      heapGrowingPercent: 50,
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
    [
      { GOOGLE_API_ROOT_URL: 'http://127.0.0.1:9000/' },
      'GOOGLE_API_ROOT_URL is set but GOOGLE_CLIENT_ID is not, so the sandbox would stand in for that provider',
    ],
    [
      {
        GOOGLE_CLIENT_ID: 'id',
        GOOGLE_CLIENT_SECRET: 's',
        GOOGLE_WEBHOOK_TOKEN: 't',
        MICROSOFT_GRAPH_BASE_URL: 'https://127.0.0.1:9001',
        MICROSOFT_TOKEN_URL: 'https://127.0.0.1:9001/token',
      },
      'MICROSOFT_GRAPH_BASE_URL, MICROSOFT_TOKEN_URL are set but MICROSOFT_CLIENT_ID is not',
    ],
    [{ ENCRYPTION_KEY: 'short' }, 'ENCRYPTION_KEY must be 32 bytes'],
    [{ GOOGLE_CLIENT_ID: 'id', GOOGLE_CLIENT_SECRET: 'secret' }, 'GOOGLE_WEBHOOK_TOKEN is required when Google is enabled'],
    [{ MICROSOFT_CLIENT_ID: 'id' }, 'MICROSOFT_WEBHOOK_TOKEN is required when Microsoft is enabled'],
    [
      { MICROSOFT_CLIENT_ID: 'id', MICROSOFT_WEBHOOK_TOKEN: 't' },
      'MICROSOFT_CLIENT_SECRET is required when MICROSOFT_CLIENT_ID is set',
    ],
    [{ PORT: '0' }, 'PORT must be between 1 and 65535 (got 0)'],
    [
      {
        MICROSOFT_CLIENT_ID: 'id',
        MICROSOFT_WEBHOOK_TOKEN: 't',
        CHANNEL_TTL_SECONDS: String(30 * 86400),
        SUBSCRIPTION_RENEW_BEFORE_SECONDS: String(7 * 86400),
      },
      'SUBSCRIPTION_RENEW_BEFORE_SECONDS must be shorter than 604200 s (the 10,070 minutes Microsoft Graph allows a subscription) when Microsoft is enabled',
    ],
    [{ NODE_ENV: 'production' }, 'API_KEY is required in production'],
    [{ NODE_ENV: 'production' }, 'ENCRYPTION_KEY is required in production'],
    [{ NODE_ENV: 'production' }, 'DATABASE_URL is required in production'],
    [{ DATABASE_POOL_SIZE: '0' }, 'DATABASE_POOL_SIZE must be between 1 and 1000'],
    [{ DATABASE_POOL_SIZE: 'many' }, 'DATABASE_POOL_SIZE must be a whole number'],
    [{ METRICS_AUTH: 'basic' }, 'METRICS_AUTH must be none or admin'],
    [{ LOG_FORMAT: 'xml' }, 'LOG_FORMAT must be one of json, pretty (got "xml")'],
    [{ ENCRYPTION_KEY: `${'ab'.repeat(32)},short` }, 'ENCRYPTION_KEY (key 2 of 2) must be 32 bytes'],
    [{ ENCRYPTION_KEY: `${'ab'.repeat(32)},${'ab'.repeat(32)}` }, 'ENCRYPTION_KEY lists the same key twice'],
  ])('stops with a message naming the variable: %p', (env, message) => {
    expect(() => load(env as Record<string, string>)).toThrow(ConfigError);
    expect(() => load(env as Record<string, string>)).toThrow(message);
  });

  it('takes a provider URL set beside its client id, or with the sandbox off', () => {
    const emulator = 'http://127.0.0.1:9000/';
    const google = {
      GOOGLE_CLIENT_ID: 'id',
      GOOGLE_CLIENT_SECRET: 's',
      GOOGLE_WEBHOOK_TOKEN: 't',
      GOOGLE_API_ROOT_URL: emulator,
    };
    expect(load(google).google).toMatchObject({ enabled: true, apiRootUrl: emulator });
    expect(load({ GOOGLE_API_ROOT_URL: emulator, SANDBOX: 'false' }).google).toMatchObject({
      enabled: false,
      apiRootUrl: emulator,
    });
  });

  it('takes HEAP_GROWING_PERCENT from 0 (V8 alone) to 1000, and names one out of range', () => {
    expect(load({ HEAP_GROWING_PERCENT: '0' }).heapGrowingPercent).toBe(0);
    expect(load({ HEAP_GROWING_PERCENT: '120' }).heapGrowingPercent).toBe(120);
    expect(() => load({ HEAP_GROWING_PERCENT: '-5' })).toThrow(/HEAP_GROWING_PERCENT/);
    expect(() => load({ HEAP_GROWING_PERCENT: 'half' })).toThrow(/HEAP_GROWING_PERCENT/);
  });

  it('takes RESYNC_INTERVAL_SECONDS from 1 second to a week', () => {
    expect(load({ RESYNC_INTERVAL_SECONDS: '1' }).resyncIntervalSeconds).toBe(1);
    expect(load({ RESYNC_INTERVAL_SECONDS: String(86400 * 7) }).resyncIntervalSeconds).toBe(86400 * 7);
    expect(() => load({ RESYNC_INTERVAL_SECONDS: '0' })).toThrow(/RESYNC_INTERVAL_SECONDS must be between 1 and 604800/);
  });

  it('lists every problem at once', () => {
    try {
      load({ PORT: 'x', RESYNC_INTERVAL_SECONDS: '-1' });
      throw new Error('expected a ConfigError');
    } catch (error) {
      expect((error as ConfigError).problems).toHaveLength(2);
    }
  });

  it('never quotes a DATABASE_URL in its message (it carries the password)', () => {
    expect(() => load({ DATABASE_URL: 'mysql://calsync:s3cret-pw@db/calsync' })).toThrow(
      /DATABASE_URL must be a postgres: or postgresql: URL/,
    );
    expect(() => load({ DATABASE_URL: 'mysql://calsync:s3cret-pw@db/calsync' })).not.toThrow(/s3cret-pw/);
    expect(() => load({ DATABASE_URL: 'not a url s3cret-pw' })).not.toThrow(/s3cret-pw/);
  });

  it('reads only the database URL for the migration CLI: no keys needed, even in production', () => {
    expect(loadDatabaseUrl({ NODE_ENV: 'production', DATABASE_URL: 'postgres://calsync@db/calsync' })).toBe(
      'postgres://calsync@db/calsync',
    );
    expect(loadDatabaseUrl({ NODE_ENV: 'production' })).toBeNull();
    const dir = mkdtempSync(join(tmpdir(), 'calsync-dburl-'));
    try {
      writeFileSync(join(dir, 'url'), 'postgresql://calsync:pw@db/calsync\n');
      expect(loadDatabaseUrl({ DATABASE_URL_FILE: join(dir, 'url') })).toBe('postgresql://calsync:pw@db/calsync');
      expect(() => loadDatabaseUrl({ DATABASE_URL_FILE: join(dir, 'missing') })).toThrow(/DATABASE_URL_FILE: cannot read/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(() => loadDatabaseUrl({ DATABASE_URL: 'mysql://u:s3cret-pw@db/x' })).toThrow(ConfigError);
    expect(() => loadDatabaseUrl({ DATABASE_URL: 'mysql://u:s3cret-pw@db/x' })).not.toThrow(/s3cret-pw/);
  });

  describe('production', () => {
    const production = {
      NODE_ENV: 'production',
      API_KEY: 'production-app-key-0123',
      ADMIN_API_KEY: 'production-admin-key-0123',
      ENCRYPTION_KEY: 'cd'.repeat(32),
      DATABASE_URL: 'postgres://calsync@db.internal/calsync',
    };

    it('wants keys of 16 characters or more, different from each other; outside production any key will do', () => {
      expect(() => load({ ...production, API_KEY: 'test-key' })).toThrow('API_KEY must be at least 16 characters in production');
      expect(() => load({ ...production, ADMIN_API_KEY: production.API_KEY })).toThrow(
        'API_KEY and ADMIN_API_KEY must differ in production',
      );
      expect(load({ API_KEY: 'test-key', ADMIN_API_KEY: 'admin' })).toMatchObject({ apiKey: 'test-key', adminApiKey: 'admin' });
      expect(load({ API_KEY: 'same', ADMIN_API_KEY: 'same' })).toMatchObject({ apiKey: 'same', adminApiKey: 'same' });
    });

    it('starts with DATABASE_URL, and a missing one is named (no silent embedded database)', () => {
      expect(load(production).databaseUrl).toBe('postgres://calsync@db.internal/calsync');
      const { DATABASE_URL: _omitted, ...withoutDatabase } = production;
      expect(() => load(withoutDatabase)).toThrow(/DATABASE_URL is required in production/);
    });

    it('wants https webhook URLs for the real Google and Graph, not for an emulator of a test suite', () => {
      const google = { ...production, GOOGLE_CLIENT_ID: 'id', GOOGLE_CLIENT_SECRET: 'secret', GOOGLE_WEBHOOK_TOKEN: 'token' };
      const microsoft = {
        ...production,
        MICROSOFT_CLIENT_ID: 'id',
        MICROSOFT_CLIENT_SECRET: 'secret',
        MICROSOFT_WEBHOOK_TOKEN: 'token',
      };
      expect(() => load(google)).toThrow(
        'APP_URL (the default of GOOGLE_WEBHOOK_URL) must be an https URL in production: Google delivers only to https addresses (got "http://localhost:3000")',
      );
      expect(() =>
        load({ ...microsoft, APP_URL: 'https://calsync.example.com', MICROSOFT_WEBHOOK_URL: 'http://hooks.example.com' }),
      ).toThrow(
        'MICROSOFT_WEBHOOK_URL must be an https URL in production: Graph delivers only to https addresses (got "http://hooks.example.com")',
      );
      expect(load({ ...google, APP_URL: 'https://calsync.example.com' }).google.webhookUrl).toBe('https://calsync.example.com');
      expect(load({ ...microsoft, MICROSOFT_WEBHOOK_URL: 'https://hooks.example.com/' }).microsoft.webhookUrl).toBe(
        'https://hooks.example.com',
      );
      // An emulator (a test suite's, on loopback) takes the pushes it is told to.
      expect(load({ ...google, GOOGLE_API_ROOT_URL: 'http://127.0.0.1:4010/' }).google.webhookUrl).toBe('http://localhost:3000');
      expect(load({ ...microsoft, MICROSOFT_GRAPH_BASE_URL: 'https://127.0.0.1:4011' }).microsoft.webhookUrl).toBe(
        'http://localhost:3000',
      );
      // Outside production nothing is refused: a developer may try real Google without a tunnel.
      const { NODE_ENV: _env, ...development } = google;
      expect(load({ ...development, NODE_ENV: 'development' }).google.webhookUrl).toBe('http://localhost:3000');
    });

    it('keys /metrics with the admin key and closes /docs by default; both can be opened', () => {
      expect(load(production)).toMatchObject({ metricsAuth: 'admin', docsEnabled: false, databasePoolSize: 20 });
      expect(load({ ...production, METRICS_AUTH: 'none', DOCS_ENABLED: 'true', DATABASE_POOL_SIZE: '50' })).toMatchObject({
        metricsAuth: 'none',
        docsEnabled: true,
        databasePoolSize: 50,
      });
      expect(load({})).toMatchObject({ metricsAuth: 'none', docsEnabled: true });
    });

    it('logs JSON lines by default, readable lines elsewhere; either can be chosen', () => {
      expect(load(production).logFormat).toBe('json');
      expect(load({ ...production, LOG_FORMAT: 'pretty' }).logFormat).toBe('pretty');
      expect(load({}).logFormat).toBe('pretty');
      expect(load({ NODE_ENV: 'development', LOG_FORMAT: 'JSON' }).logFormat).toBe('json');
    });
  });

  it('reads ENCRYPTION_KEY as a key ring: the first key seals', () => {
    const config = load({ ENCRYPTION_KEY: ` ${'01'.repeat(32)} , ${Buffer.alloc(32, 2).toString('base64')}` });
    expect(config.encryptionKeys).toEqual([Buffer.alloc(32, 1), Buffer.alloc(32, 2)]);
    expect(config.encryptionKey).toEqual(Buffer.alloc(32, 1));
  });

  describe('webhook secret rotation', () => {
    const providers = {
      GOOGLE_CLIENT_ID: 'client',
      GOOGLE_CLIENT_SECRET: 'secret',
      MICROSOFT_CLIENT_ID: 'client',
      MICROSOFT_CLIENT_SECRET: 'secret',
    };

    it('takes the previous token of each provider beside the new one; none by default', () => {
      const config = load({
        ...providers,
        GOOGLE_WEBHOOK_TOKEN: 'google-new',
        GOOGLE_WEBHOOK_TOKEN_PREVIOUS: ' google-old ',
        MICROSOFT_WEBHOOK_TOKEN: 'ms-new',
      });
      expect(config.google).toMatchObject({ webhookToken: 'google-new', webhookTokenPrevious: 'google-old' });
      expect(config.microsoft).toMatchObject({ webhookToken: 'ms-new', webhookTokenPrevious: null });
    });

    it('refuses a previous token equal to the new one, one without a new one, and one too long', () => {
      const problems = (env: Record<string, string>) => {
        try {
          load({ ...providers, GOOGLE_WEBHOOK_TOKEN: 'google-token', MICROSOFT_WEBHOOK_TOKEN: 'ms-token', ...env });
          return [];
        } catch (error) {
          return (error as ConfigError).problems;
        }
      };
      expect(problems({ GOOGLE_WEBHOOK_TOKEN_PREVIOUS: 'google-token' })).toEqual([
        'GOOGLE_WEBHOOK_TOKEN_PREVIOUS is the same as GOOGLE_WEBHOOK_TOKEN: set the new token in GOOGLE_WEBHOOK_TOKEN',
      ]);
      expect(problems({ MICROSOFT_WEBHOOK_TOKEN: '', MICROSOFT_WEBHOOK_TOKEN_PREVIOUS: 'ms-old' })).toContain(
        'MICROSOFT_WEBHOOK_TOKEN_PREVIOUS is set but MICROSOFT_WEBHOOK_TOKEN is not: set the new token in MICROSOFT_WEBHOOK_TOKEN',
      );
      expect(problems({ MICROSOFT_WEBHOOK_TOKEN_PREVIOUS: 'x'.repeat(129) })).toEqual([
        'MICROSOFT_WEBHOOK_TOKEN_PREVIOUS must be at most 128 characters',
      ]);
    });
  });

  describe('*_FILE secrets', () => {
    const dir = mkdtempSync(join(tmpdir(), 'calsync-config-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const file = (name: string, content: string) => {
      const path = join(dir, name);
      writeFileSync(path, content);
      return path;
    };

    it('reads each secret from its file, trimmed', () => {
      const config = load({
        API_KEY_FILE: file('api', 'file-app-key-0123456789\n'),
        ADMIN_API_KEY_FILE: file('admin', '  file-admin-key-0123456789  \n'),
        ENCRYPTION_KEY_FILE: file('enc', `${'ef'.repeat(32)}\n`),
        DATABASE_URL_FILE: file('db', 'postgres://u:p@db/calsync\n'),
        GOOGLE_CLIENT_ID: 'client',
        GOOGLE_CLIENT_SECRET_FILE: file('gsecret', 'google-secret\n'),
        GOOGLE_WEBHOOK_TOKEN_FILE: file('gtoken', 'google-token\n'),
        MICROSOFT_CLIENT_ID: 'client',
        MICROSOFT_CLIENT_SECRET_FILE: file('msecret', 'ms-secret\n'),
        MICROSOFT_WEBHOOK_TOKEN_FILE: file('mtoken', 'ms-token\n'),
        GOOGLE_WEBHOOK_TOKEN_PREVIOUS_FILE: file('gprevious', 'google-old-token\n'),
        MICROSOFT_WEBHOOK_TOKEN_PREVIOUS_FILE: file('mprevious', 'ms-old-token\n'),
      });
      expect(config.apiKey).toBe('file-app-key-0123456789');
      expect(config.adminApiKey).toBe('file-admin-key-0123456789');
      expect(config.encryptionKey.toString('hex')).toBe('ef'.repeat(32));
      expect(config.databaseUrl).toBe('postgres://u:p@db/calsync');
      expect(config.google).toMatchObject({
        clientSecret: 'google-secret',
        webhookToken: 'google-token',
        webhookTokenPrevious: 'google-old-token',
      });
      expect(config.microsoft).toMatchObject({
        clientSecret: 'ms-secret',
        webhookToken: 'ms-token',
        webhookTokenPrevious: 'ms-old-token',
      });
      expect(config.generated).toEqual({ apiKey: false, adminApiKey: false, encryptionKey: false });
    });

    it('refuses a secret set both ways', () => {
      expect(() => load({ API_KEY: 'direct-app-key-0123456789', API_KEY_FILE: file('both', 'x') })).toThrow(
        'API_KEY and API_KEY_FILE are both set: set only one of them',
      );
    });

    it('names the variable of an unreadable file, never any content', () => {
      const missing = join(dir, 'missing');
      expect(() => load({ ENCRYPTION_KEY_FILE: missing })).toThrow(`ENCRYPTION_KEY_FILE: cannot read "${missing}" (ENOENT)`);
      const locked = file('locked', 'top-secret-value');
      chmodSync(locked, 0o000);
      try {
        load({ ADMIN_API_KEY_FILE: locked });
        // root reads any file: nothing else to check then
      } catch (error) {
        expect((error as Error).message).toContain('ADMIN_API_KEY_FILE: cannot read');
        expect((error as Error).message).not.toContain('top-secret-value');
      }
    });
  });
});

describe('quotableUrl: a URL as a message may quote it', () => {
  it('hides a user and password, and the values of secret-looking query keys (pg reads ?password=)', () => {
    expect(quotableUrl('postgres://calsync:hunter2@db.internal:5432/calsync')).toBe('postgres://***@db.internal:5432/calsync');
    expect(quotableUrl('postgres://db.internal:5432/calsync?sslmode=require&password=hunter2')).toBe(
      'postgres://db.internal:5432/calsync?sslmode=require&password=***',
    );
    expect(quotableUrl('postgres://u:p@db/calsync?sslpassword=x&application_name=a')).toBe(
      'postgres://***@db/calsync?sslpassword=***&application_name=a',
    );
    expect(quotableUrl('https://hooks.example.com/in?token=abc')).toBe('https://hooks.example.com/in?token=***');
    expect(quotableUrl('https://hooks.example.com/in?page=2')).toBe('https://hooks.example.com/in?page=2');
  });

  it('drops the query of what does not parse as a URL', () => {
    expect(quotableUrl('postgres://u:pw@[bad/calsync?password=hunter2')).not.toContain('hunter2');
  });
});
