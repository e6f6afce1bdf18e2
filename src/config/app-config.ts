/** The validated, typed configuration. Built once from the environment by `loadConfig`. */
export type ProviderName = 'google_calendar' | 'office365_calendar';

export interface GoogleConfig {
  /** false when no OAuth client is configured: the sandbox emulator stands in for Google. */
  enabled: boolean;
  clientId: string;
  clientSecret: string;
  apiRootUrl: string;
  oauthTokenUrl: string;
  oauthAuthorizeUrl: string;
  webhookUrl: string;
  webhookToken: string;
  /** `GOOGLE_WEBHOOK_TOKEN_PREVIOUS`: still accepted while the channels opened with it are replaced (a rotation). */
  webhookTokenPrevious: string | null;
}

export interface MicrosoftConfig {
  enabled: boolean;
  clientId: string;
  clientSecret: string;
  graphBaseUrl: string;
  tokenUrl: string;
  oauthAuthorizeUrl: string;
  webhookUrl: string;
  webhookToken: string;
  /** `MICROSOFT_WEBHOOK_TOKEN_PREVIOUS`: still accepted while the subscriptions made with it are replaced (a rotation). */
  webhookTokenPrevious: string | null;
  /**
   * Extra CA certificate (PEM) to trust for Graph calls. Not an environment variable: only the
   * sandbox and the tests set it, for the loopback emulator's self-signed certificate.
   */
  caCertificate: string | null;
}

export interface AppConfig {
  env: 'development' | 'production' | 'test';
  port: number;
  host: string;
  appUrl: string;
  /** null: start the embedded PostgreSQL in `dataDir/postgres`. */
  databaseUrl: string | null;
  embeddedPostgresPort: number;
  dataDir: string;
  apiKey: string;
  adminApiKey: string;
  /** 32 raw bytes: the first key of `encryptionKeys`, the one that seals. */
  encryptionKey: Buffer;
  /** `ENCRYPTION_KEY` as a key ring (comma-separated): the first seals, every one opens. */
  encryptionKeys: Buffer[];
  /** Connections of the application's pool (`DATABASE_POOL_SIZE`; the job worker has its own). */
  databasePoolSize: number;
  /** `/metrics`: open (`none`) or behind the admin key (`admin`; the default in production). */
  metricsAuth: 'none' | 'admin';
  /** Serve `/docs` and `/docs-json` (`DOCS_ENABLED`; default false in production). */
  docsEnabled: boolean;
  google: GoogleConfig;
  microsoft: MicrosoftConfig;
  /** Serve loopback emulators for the providers without credentials (development only) and point their adapters at them. */
  sandbox: boolean;
  syncWindowDays: number;
  resyncIntervalSeconds: number;
  subscriptionRenewBeforeSeconds: number;
  /** Every provider call is abandoned after this long (a hung provider answers 504, a job backs off). */
  providerTimeoutMs: number;
  /** An API request still running after this long is answered 503 (its work may still complete). */
  requestTimeoutMs: number;
  /** A job still running after this long is aborted (its signal fires) and retried with backoff. */
  jobTimeoutMs: number;
  /** Requested channel lifetime; providers may grant less. */
  channelTtlSeconds: number;
  /**
   * A sync run that would cancel more of one user's upcoming bookings than this holds them for a
   * person instead (`SYNC_MASS_CANCEL_THRESHOLD`; see the admin routes of held changes).
   */
  syncMassCancelThreshold: number;
  /** A cached calendar whose last sync is older than this is answered live. */
  cacheStaleAfterSeconds: number;
  /** Run the scheduled tasks (subscribe, resync, clean-up) on timers in this process. */
  schedulerEnabled: boolean;
  workerConcurrency: number;
  queuePollIntervalMs: number;
  /** V8's heap growth past the live objects, in percent (`applyHeapGrowth`); 0 leaves V8's own. */
  heapGrowingPercent: number;
  /**
   * URL prefixes a host app may ask the OAuth flow to return to (`OAUTH_RETURN_URLS`,
   * comma-separated); empty: `POST …/oauth/start` refuses every returnUrl.
   */
  oauthReturnUrls: string[];
  /**
   * Outgoing webhooks may target loopback, private, link-local and unique-local addresses
   * (`WEBHOOK_ALLOW_PRIVATE_URLS`; default false in production, true otherwise). Off, such URLs are
   * refused at create/update and again at each delivery (DNS can change): no SSRF through webhooks.
   */
  webhookAllowPrivateUrls: boolean;
  logLevel: 'error' | 'warn' | 'log' | 'debug' | 'verbose';
  /** `LOG_FORMAT`: one JSON object per line (`json`, the default in production) or readable lines (`pretty`). */
  logFormat: 'json' | 'pretty';
  /** Which values were generated rather than given, so start-up can print them. */
  generated: { apiKey: boolean; adminApiKey: boolean; encryptionKey: boolean };
}

export const APP_CONFIG = Symbol('APP_CONFIG');
