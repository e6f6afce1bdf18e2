import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { AppConfig } from './app-config.js';
import { ConfigError } from './config.error.js';

export type Env = Record<string, string | undefined>;

const LOG_LEVELS = ['error', 'warn', 'log', 'debug', 'verbose'] as const;
const LOG_FORMATS = ['json', 'pretty'] as const;

/** The longest Microsoft Graph lets an event subscription live: 10,070 minutes. */
const GRAPH_MAX_SUBSCRIPTION_SECONDS = 10_070 * 60;

/**
 * Reads and validates every setting in one pass, collecting all problems so an operator
 * fixes them in one go. Development conveniences (generated keys) never apply in production.
 */
export function loadConfig(rawEnv: Env, options: { persistGeneratedSecrets?: boolean } = {}): AppConfig {
  const problems: string[] = [];
  const env = withFileSecrets(rawEnv, problems);
  const nodeEnv = (env.NODE_ENV ?? 'development') as AppConfig['env'];
  if (!['development', 'production', 'test'].includes(nodeEnv)) {
    problems.push(`NODE_ENV must be one of development, production, test (got "${env.NODE_ENV}")`);
  }
  const production = nodeEnv === 'production';

  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    if (!/^\d+$/.test(raw.trim())) {
      problems.push(`${name} must be a whole number (got "${raw}")`);
      return fallback;
    }
    const value = Number(raw);
    if (value < min || value > max) {
      problems.push(`${name} must be between ${min} and ${max} (got ${value})`);
      return fallback;
    }
    return value;
  };
  const url = (name: string, fallback: string, protocols = ['http:', 'https:']): string => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const problem = urlProblem(name, raw, protocols);
    if (problem) problems.push(problem.message);
    return problem?.unparsable ? fallback : raw;
  };
  const str = (name: string): string => (env[name] ?? '').trim();
  const bool = (name: string, fallback: boolean): boolean => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    if (['1', 'true', 'yes', 'on'].includes(raw.toLowerCase())) return true;
    if (['0', 'false', 'no', 'off'].includes(raw.toLowerCase())) return false;
    problems.push(`${name} must be true or false (got "${raw}")`);
    return fallback;
  };
  /** `<name>_PREVIOUS`: the webhook secret a rotation replaces, accepted until its channels are replaced. */
  const previousToken = (name: string, current: string, maxLength: number): string | null => {
    const previous = str(`${name}_PREVIOUS`);
    if (!previous) return null;
    if (!current) problems.push(`${name}_PREVIOUS is set but ${name} is not: set the new token in ${name}`);
    if (previous.length > maxLength) problems.push(`${name}_PREVIOUS must be at most ${maxLength} characters`);
    // The same value twice rotates nothing; most likely the new token was not set.
    if (previous === current) problems.push(`${name}_PREVIOUS is the same as ${name}: set the new token in ${name}`);
    return previous;
  };

  // Not 0: the address the service gives providers and prints (APP_URL's default) names this port.
  const port = int('PORT', 3000, 1, 65535);
  const host = str('HOST') || '0.0.0.0';
  const appUrl = url('APP_URL', `http://localhost:${port}`).replace(/\/+$/, '');
  const databaseUrl = env.DATABASE_URL ? url('DATABASE_URL', '', DATABASE_PROTOCOLS) : null;
  if (production && !env.DATABASE_URL) {
    problems.push('DATABASE_URL is required in production (the embedded PostgreSQL is for development only)');
  }
  const dataDir = resolve(str('DATA_DIR') || '.data');
  const persist = options.persistGeneratedSecrets ?? nodeEnv !== 'test';
  const generatedSecrets = persist && !production ? readDevSecrets(dataDir) : {};

  const secret = (name: 'API_KEY' | 'ADMIN_API_KEY'): { value: string; generated: boolean } => {
    const raw = str(name);
    if (raw) {
      // Strength is a production rule: a test suite or a developer may set "test-key".
      if (production && raw.length < 16) problems.push(`${name} must be at least 16 characters in production`);
      return { value: raw, generated: false };
    }
    if (production) {
      problems.push(`${name} is required in production`);
      return { value: '', generated: false };
    }
    const value = generatedSecrets[name] ?? randomBytes(24).toString('base64url');
    generatedSecrets[name] = value;
    return { value, generated: true };
  };
  const apiKey = secret('API_KEY');
  const adminApiKey = secret('ADMIN_API_KEY');
  if (production && apiKey.value && apiKey.value === adminApiKey.value) {
    problems.push('API_KEY and ADMIN_API_KEY must differ in production');
  }

  // A key ring: the first key seals, every key opens (rotation: put the new key first, run the
  // reseal-credentials task, then drop the old one).
  let encryptionKeys: Buffer[] = [];
  let encryptionKeyGenerated = false;
  const rawKey = str('ENCRYPTION_KEY');
  if (rawKey) {
    const entries = rawKey.split(',').map((entry) => entry.trim());
    entries.forEach((entry, index) => {
      const parsed = parseKey(entry);
      const which = entries.length > 1 ? `ENCRYPTION_KEY (key ${index + 1} of ${entries.length})` : 'ENCRYPTION_KEY';
      if (!parsed) problems.push(`${which} must be 32 bytes, as 64 hex characters or base64`);
      else encryptionKeys.push(parsed);
    });
    if (new Set(encryptionKeys.map((key) => key.toString('hex'))).size !== encryptionKeys.length) {
      problems.push('ENCRYPTION_KEY lists the same key twice');
    }
  } else if (production) {
    problems.push('ENCRYPTION_KEY is required in production');
  } else {
    encryptionKeys = [Buffer.from(generatedSecrets.ENCRYPTION_KEY ?? randomBytes(32).toString('hex'), 'hex')];
    generatedSecrets.ENCRYPTION_KEY = encryptionKeys[0].toString('hex');
    encryptionKeyGenerated = true;
  }
  const encryptionKey = encryptionKeys[0] ?? Buffer.alloc(0);

  const metricsAuth = (str('METRICS_AUTH') || (production ? 'admin' : 'none')) as AppConfig['metricsAuth'];
  if (!['none', 'admin'].includes(metricsAuth)) problems.push(`METRICS_AUTH must be none or admin (got "${metricsAuth}")`);

  const googleClientId = str('GOOGLE_CLIENT_ID');
  const googleEnabled = googleClientId !== '';
  const googleWebhookToken = str('GOOGLE_WEBHOOK_TOKEN');
  if (googleEnabled && !googleWebhookToken) {
    problems.push('GOOGLE_WEBHOOK_TOKEN is required when Google is enabled (GOOGLE_CLIENT_ID is set)');
  }
  if (googleEnabled && !str('GOOGLE_CLIENT_SECRET')) {
    problems.push('GOOGLE_CLIENT_SECRET is required when GOOGLE_CLIENT_ID is set');
  }
  if (googleWebhookToken.length > 256) problems.push('GOOGLE_WEBHOOK_TOKEN must be at most 256 characters');
  const googleWebhookTokenPrevious = previousToken('GOOGLE_WEBHOOK_TOKEN', googleWebhookToken, 256);

  const microsoftClientId = str('MICROSOFT_CLIENT_ID');
  const microsoftEnabled = microsoftClientId !== '';
  const microsoftWebhookToken = str('MICROSOFT_WEBHOOK_TOKEN');
  if (microsoftEnabled && !str('MICROSOFT_CLIENT_SECRET')) {
    problems.push('MICROSOFT_CLIENT_SECRET is required when MICROSOFT_CLIENT_ID is set');
  }
  if (microsoftEnabled && !microsoftWebhookToken) {
    problems.push('MICROSOFT_WEBHOOK_TOKEN is required when Microsoft is enabled (MICROSOFT_CLIENT_ID is set)');
  }
  if (microsoftWebhookToken.length > 128) problems.push('MICROSOFT_WEBHOOK_TOKEN must be at most 128 characters');
  const microsoftWebhookTokenPrevious = previousToken('MICROSOFT_WEBHOOK_TOKEN', microsoftWebhookToken, 128);

  // One switch for the sandbox; it stands in for each provider that has no credentials (src/bootstrap/sandbox.ts),
  // so real Google can run next to a sandbox Outlook and the other way round.
  const sandbox = bool('SANDBOX', (!googleEnabled || !microsoftEnabled) && !production);
  // The sandbox replaces the URLs of the provider it stands in for: a URL set for that provider
  // (an emulator of a test suite's own, say) would be ignored without a word.
  if (sandbox) {
    const providerUrls: Array<[boolean, string, string[]]> = [
      [googleEnabled, 'GOOGLE_CLIENT_ID', ['GOOGLE_API_ROOT_URL', 'GOOGLE_OAUTH_TOKEN_URL', 'GOOGLE_OAUTH_AUTHORIZE_URL']],
      [
        microsoftEnabled,
        'MICROSOFT_CLIENT_ID',
        ['MICROSOFT_GRAPH_BASE_URL', 'MICROSOFT_TOKEN_URL', 'MICROSOFT_OAUTH_AUTHORIZE_URL'],
      ],
    ];
    for (const [enabled, clientIdName, names] of providerUrls) {
      const set = names.filter((name) => str(name) !== '');
      if (enabled || set.length === 0) continue;
      const [these, are] = set.length > 1 ? ['they', 'are'] : ['it', 'is'];
      problems.push(
        `${set.join(', ')} ${are} set but ${clientIdName} is not, so the sandbox would stand in for that provider and ${these} would not be used: ` +
          `set ${clientIdName} and its secret (an emulator may take any values), or SANDBOX=false, or unset ${set.join(', ')}`,
      );
    }
  }

  const logLevel = (str('LOG_LEVEL') || (nodeEnv === 'test' ? 'warn' : 'log')) as AppConfig['logLevel'];
  if (!LOG_LEVELS.includes(logLevel)) problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}`);
  const logFormat = (str('LOG_FORMAT').toLowerCase() || (production ? 'json' : 'pretty')) as AppConfig['logFormat'];
  if (!LOG_FORMATS.includes(logFormat))
    problems.push(`LOG_FORMAT must be one of ${LOG_FORMATS.join(', ')} (got "${env.LOG_FORMAT}")`);

  // Google and Graph deliver only to https addresses: in production, against the real provider
  // (its API at the default address, not an emulator a test suite runs), an http webhook URL would
  // start fine and then every watch would fail.
  const webhookChecks: Array<[boolean, string, string, string, string]> = [
    [googleEnabled, 'Google', 'GOOGLE_WEBHOOK_URL', 'GOOGLE_API_ROOT_URL', 'https://www.googleapis.com/'],
    [microsoftEnabled, 'Graph', 'MICROSOFT_WEBHOOK_URL', 'MICROSOFT_GRAPH_BASE_URL', 'https://graph.microsoft.com'],
  ];
  for (const [enabled, provider, name, apiName, realApi] of webhookChecks) {
    if (!production || !enabled || (str(apiName) !== '' && str(apiName).replace(/\/+$/, '') !== realApi.replace(/\/+$/, '')))
      continue;
    const webhookUrl = str(name) || appUrl;
    if (!webhookUrl.toLowerCase().startsWith('https:')) {
      const source = str(name) ? name : `APP_URL (the default of ${name})`;
      problems.push(
        `${source} must be an https URL in production: ${provider} delivers only to https addresses (got "${quotableUrl(webhookUrl)}")`,
      );
    }
  }

  const config: AppConfig = {
    env: nodeEnv,
    port,
    host,
    appUrl,
    databaseUrl,
    embeddedPostgresPort: int('EMBEDDED_POSTGRES_PORT', 54329, 1, 65535),
    dataDir,
    apiKey: apiKey.value,
    adminApiKey: adminApiKey.value,
    encryptionKey,
    encryptionKeys,
    databasePoolSize: int('DATABASE_POOL_SIZE', 20, 1, 1000),
    metricsAuth,
    docsEnabled: bool('DOCS_ENABLED', !production),
    google: {
      enabled: googleEnabled,
      clientId: googleClientId,
      clientSecret: str('GOOGLE_CLIENT_SECRET'),
      apiRootUrl: url('GOOGLE_API_ROOT_URL', 'https://www.googleapis.com/'),
      oauthTokenUrl: url('GOOGLE_OAUTH_TOKEN_URL', 'https://oauth2.googleapis.com/token'),
      oauthAuthorizeUrl: url('GOOGLE_OAUTH_AUTHORIZE_URL', 'https://accounts.google.com/o/oauth2/v2/auth'),
      webhookUrl: url('GOOGLE_WEBHOOK_URL', appUrl).replace(/\/+$/, ''),
      webhookToken: googleWebhookToken,
      webhookTokenPrevious: googleWebhookTokenPrevious,
    },
    microsoft: {
      enabled: microsoftEnabled,
      clientId: microsoftClientId,
      clientSecret: str('MICROSOFT_CLIENT_SECRET'),
      graphBaseUrl: url('MICROSOFT_GRAPH_BASE_URL', 'https://graph.microsoft.com').replace(/\/+$/, ''),
      tokenUrl: url('MICROSOFT_TOKEN_URL', 'https://login.microsoftonline.com/common/oauth2/v2.0/token'),
      oauthAuthorizeUrl: url('MICROSOFT_OAUTH_AUTHORIZE_URL', 'https://login.microsoftonline.com/common/oauth2/v2.0/authorize'),
      webhookUrl: url('MICROSOFT_WEBHOOK_URL', appUrl).replace(/\/+$/, ''),
      webhookToken: microsoftWebhookToken,
      webhookTokenPrevious: microsoftWebhookTokenPrevious,
      caCertificate: null,
    },
    sandbox,
    syncWindowDays: int('SYNC_WINDOW_DAYS', 92, 1, 730),
    // As short as a second: a test suite may want its dropped pushes healed at once (each run is one keyed job).
    resyncIntervalSeconds: int('RESYNC_INTERVAL_SECONDS', 900, 1, 86400 * 7),
    subscriptionRenewBeforeSeconds: int('SUBSCRIPTION_RENEW_BEFORE_SECONDS', 86400, 60, 86400 * 30),
    providerTimeoutMs: int('PROVIDER_TIMEOUT_MS', 10_000, 100, 120_000),
    requestTimeoutMs: int('REQUEST_TIMEOUT_MS', 30_000, 100, 600_000),
    jobTimeoutMs: int('JOB_TIMEOUT_MS', 300_000, 1_000, 3_600_000),
    channelTtlSeconds: int('CHANNEL_TTL_SECONDS', 604800, 300, 86400 * 30),
    cacheStaleAfterSeconds: int('CACHE_STALE_AFTER_SECONDS', 0, 0, 86400 * 30),
    syncMassCancelThreshold: int('SYNC_MASS_CANCEL_THRESHOLD', 10, 0, 1_000_000),
    schedulerEnabled: bool('SCHEDULER_ENABLED', true),
    workerConcurrency: int('WORKER_CONCURRENCY', 8, 1, 100),
    queuePollIntervalMs: int('QUEUE_POLL_INTERVAL_MS', 2000, 50, 60000),
    heapGrowingPercent: int('HEAP_GROWING_PERCENT', 50, 0, 1000),
    oauthReturnUrls: returnUrlPrefixes(env.OAUTH_RETURN_URLS, production, problems),
    webhookAllowPrivateUrls: bool('WEBHOOK_ALLOW_PRIVATE_URLS', !production),
    logLevel,
    logFormat,
    generated: {
      apiKey: apiKey.generated,
      adminApiKey: adminApiKey.generated,
      encryptionKey: encryptionKeyGenerated,
    },
  };
  if (config.cacheStaleAfterSeconds === 0) {
    // A quiet calendar is still fresh while the safety-net resync keeps touching it.
    config.cacheStaleAfterSeconds = config.resyncIntervalSeconds * 3;
  }
  if (config.subscriptionRenewBeforeSeconds >= config.channelTtlSeconds) {
    problems.push('SUBSCRIPTION_RENEW_BEFORE_SECONDS must be shorter than CHANNEL_TTL_SECONDS');
  } else if (microsoftEnabled && config.subscriptionRenewBeforeSeconds >= GRAPH_MAX_SUBSCRIPTION_SECONDS) {
    // Graph caps an event subscription at 10,070 minutes whatever CHANNEL_TTL_SECONDS asks: every
    // subscription would sit inside the renewal window and be renewed at every minute's run.
    problems.push(
      `SUBSCRIPTION_RENEW_BEFORE_SECONDS must be shorter than ${GRAPH_MAX_SUBSCRIPTION_SECONDS} s (the 10,070 minutes Microsoft Graph allows a subscription) when Microsoft is enabled`,
    );
  }

  if (problems.length > 0) throw new ConfigError(problems);
  if (persist && !production) writeDevSecrets(dataDir, generatedSecrets);
  return config;
}

/**
 * `OAUTH_RETURN_URLS`: absolute http(s) URLs without query or fragment (https in production, except
 * for loopback), each a prefix a returnUrl must start with. A prefix that is only an origin gets
 * its `/`, so `https://app.example.com` never lets `https://app.example.com.evil.test` through.
 */
function returnUrlPrefixes(raw: string | undefined, production: boolean, problems: string[]): string[] {
  const prefixes: string[] = [];
  for (const entry of (raw ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    let parsed: URL;
    try {
      parsed = new URL(entry);
    } catch {
      problems.push(`OAUTH_RETURN_URLS: "${quotableUrl(entry)}" is not an absolute URL`);
      continue;
    }
    const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(parsed.hostname);
    if (!['http:', 'https:'].includes(parsed.protocol) || (production && parsed.protocol !== 'https:' && !loopback)) {
      problems.push(`OAUTH_RETURN_URLS: "${quotableUrl(entry)}" must be an ${production ? 'https' : 'http(s)'} URL`);
      continue;
    }
    if (parsed.search || parsed.hash || parsed.username || parsed.password) {
      problems.push(`OAUTH_RETURN_URLS: "${quotableUrl(entry)}" must not carry a query, a fragment or credentials`);
      continue;
    }
    prefixes.push(entry.includes('/', parsed.protocol.length + 2) ? entry : `${entry}/`);
  }
  return prefixes;
}

function parseKey(raw: string): Buffer | null {
  if (/^[0-9a-fA-F]{64}$/.test(raw)) return Buffer.from(raw, 'hex');
  if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(raw)) {
    const decoded = Buffer.from(raw, 'base64');
    if (decoded.length === 32) return decoded;
  }
  return null;
}

type DevSecrets = Partial<Record<'API_KEY' | 'ADMIN_API_KEY' | 'ENCRYPTION_KEY', string>>;

function readDevSecrets(dataDir: string): DevSecrets {
  const file = join(dataDir, 'dev-secrets.json');
  if (!existsSync(file)) return {};
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as DevSecrets;
  } catch {
    return {};
  }
}

/** Kept between runs so the keys printed yesterday and the tokens encrypted yesterday still work. */
function writeDevSecrets(dataDir: string, secrets: DevSecrets): void {
  if (Object.keys(secrets).length === 0) return;
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(join(dataDir, 'dev-secrets.json'), JSON.stringify(secrets, null, 2), { mode: 0o600 });
}

/** Secrets that may instead be read from a file named by `<NAME>_FILE` (Docker and Kubernetes secrets). */
export const FILE_SECRETS = [
  'API_KEY',
  'ADMIN_API_KEY',
  'ENCRYPTION_KEY',
  'DATABASE_URL',
  'GOOGLE_CLIENT_SECRET',
  'MICROSOFT_CLIENT_SECRET',
  'GOOGLE_WEBHOOK_TOKEN',
  'MICROSOFT_WEBHOOK_TOKEN',
  'GOOGLE_WEBHOOK_TOKEN_PREVIOUS',
  'MICROSOFT_WEBHOOK_TOKEN_PREVIOUS',
] as const;

/**
 * `<NAME>_FILE=/run/secrets/x`: the file's content, trimmed, stands for `<NAME>`. Setting both is a
 * problem (which one wins would be a guess); an unreadable file is a problem naming the variable and
 * the path, never any content.
 */
function withFileSecrets(env: Env, problems: string[]): Env {
  const resolved: Env = { ...env };
  for (const name of FILE_SECRETS) {
    const path = env[`${name}_FILE`];
    if (path === undefined || path === '') continue;
    if (env[name] !== undefined && env[name] !== '') {
      problems.push(`${name} and ${name}_FILE are both set: set only one of them`);
      continue;
    }
    try {
      resolved[name] = readFileSync(path, 'utf8').trim();
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
      problems.push(`${name}_FILE: cannot read "${path}" (${code})`);
    }
  }
  return resolved;
}

const DATABASE_PROTOCOLS = ['postgres:', 'postgresql:'];

/**
 * A URL as a message may quote it: a user and password in it shown as `***`. Read as WHATWG URL
 * parsing reads it (which also finds them in `https:u:pw@host` or `http:/u:pw@host`); what does not
 * parse loses whatever stands before the last `@` after the scheme.
 */
export function quotableUrl(raw: string): string {
  try {
    const url = new URL(raw);
    // A secret may also ride in the query (pg reads `?password=`, `?sslpassword=`).
    let query = false;
    for (const key of [...url.searchParams.keys()]) {
      if (SECRET_QUERY_KEY.test(key)) {
        url.searchParams.set(key, '***');
        query = true;
      }
    }
    if (!url.username && !url.password && !query) return raw;
    const userinfo = Boolean(url.username || url.password);
    url.username = '';
    url.password = '';
    const shown = url.href.replace(/%2A%2A%2A/g, '***');
    return userinfo ? shown.replace(/^([a-z][a-z0-9+.-]*:\/\/)/i, '$1***@') : shown;
  } catch {
    return raw.replace(/^([a-z][a-z0-9+.-]*:\/*)\S*@/i, '$1***@').replace(/\?.*$/, '?…');
  }
}

/** Query keys whose values are not quoted: passwords, keys, tokens, secrets. */
const SECRET_QUERY_KEY = /pass|secret|key|token|sig|credential|auth/i;

/**
 * Why `raw` is not a URL of one of `protocols`, or null. The value is quoted unless it may hold a
 * secret (DATABASE_URL carries the database password): such a value never reaches a message.
 */
function urlProblem(name: string, raw: string, protocols: string[]): { message: string; unparsable: boolean } | null {
  const shown = name === 'DATABASE_URL' ? '' : ` (got "${quotableUrl(raw)}")`;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    return { message: `${name} must be a URL${shown}`, unparsable: true };
  }
  if (protocols.includes(parsed.protocol)) return null;
  return { message: `${name} must be a ${protocols.join(' or ')} URL${shown}`, unparsable: false };
}

/**
 * Only the database's URL (`DATABASE_URL`, or the file `DATABASE_URL_FILE` names), for the migration
 * CLI (`ormconfig.ts`): running migrations needs no API keys, encryption key or provider settings,
 * and must not write development secrets. Null when neither is set.
 */
export function loadDatabaseUrl(rawEnv: Env): string | null {
  const problems: string[] = [];
  const env = withFileSecrets({ DATABASE_URL: rawEnv.DATABASE_URL, DATABASE_URL_FILE: rawEnv.DATABASE_URL_FILE }, problems);
  const raw = env.DATABASE_URL;
  if (raw) {
    const problem = urlProblem('DATABASE_URL', raw, DATABASE_PROTOCOLS);
    if (problem) problems.push(problem.message);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return raw || null;
}

/** The one place the process environment is read. */
export function loadConfigFromProcess(): AppConfig {
  return loadConfig(process.env);
}

/** LOG_FORMAT as asked, when the configuration could not be read: json if so, or unset in production. */
export function requestedLogFormat(env: Env): 'json' | 'pretty' {
  const asked = env.LOG_FORMAT?.trim();
  if (asked === 'json' || asked === 'pretty') return asked;
  return !asked && env.NODE_ENV === 'production' ? 'json' : 'pretty';
}

/** `requestedLogFormat` of the process environment (for the line a refused start writes). */
export function requestedLogFormatFromProcess(): 'json' | 'pretty' {
  return requestedLogFormat(process.env);
}
