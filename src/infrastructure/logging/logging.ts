import type { IncomingMessage, ServerResponse } from 'node:http';
import { format } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { Logger as NestPinoLogger, PinoLogger, type Params } from 'nestjs-pino';
import { type DestinationStream, type Level, type Logger as Pino, pino, stdTimeFunctions } from 'pino';
import { type Options as HttpLoggerOptions, pinoHttp } from 'pino-http';
import pinoPretty from 'pino-pretty';
import type { AppConfig } from '../../config/app-config.js';
import { requestIdFrom } from '../../bootstrap/request-id.js';

/**
 * Everything a log line may carry that must never be written: credentials in headers, provider
 * tokens, signing secrets, keys. `redactSecrets` replaces them wherever a logged object has them,
 * down to `MAX_REDACT_DEPTH` levels (`{credential: {accessToken}}`,
 * `{err: {config: {headers: {authorization}}}}`), key names compared without case. Request bodies
 * are never logged at all (see `serializeRequest`), so this is the second line of defence, for
 * objects code logs on purpose.
 */
const SECRET_KEYS = [
  'authorization',
  'Authorization',
  'cookie',
  'set-cookie',
  // eslint-disable-next-line no-restricted-syntax -- a name to hide, not a header this module reads
  'x-goog-channel-token',
  'token',
  'accessToken',
  'access_token',
  'refreshToken',
  'refresh_token',
  'idToken',
  'id_token',
  'secret',
  'clientSecret',
  'client_secret',
  // eslint-disable-next-line no-restricted-syntax -- a name to hide, not a field this module reads
  'clientState',
  'encryptedSecret',
  'encryptedAccessToken',
  'encryptedRefreshToken',
  'apiKey',
  'adminApiKey',
  'password',
  'codeVerifier',
  'code_verifier',
  'encryptionKey',
  'ENCRYPTION_KEY',
  'API_KEY',
  'ADMIN_API_KEY',
  'webhookToken',
  'webhookTokenPrevious',
];
const SECRET_KEY_SET = new Set(SECRET_KEYS.map((key) => key.toLowerCase()));
const MAX_REDACT_DEPTH = 5;

/**
 * pino's log formatter: a copy of the logged object with every secret field replaced, sharing the
 * branches that hold none (nothing is copied when there is nothing to hide, the usual case).
 *
 * Written here instead of pino's `redact` option: that one needs a path per key and depth (30
 * keys × 4 depths, most with wildcards), runs them on every line and also on every child
 * logger's bindings, and pino-http makes a child per request: measured at 8 % of the process's
 * CPU under the webhook-intake bench (@pinojs/redact, pino 10), for requests that log nothing.
 * This walk runs once per line written, over the keys the line has. An Error holding a secret is
 * replaced by the plain form pino's error serializer writes (type, message, stack, fields).
 */
export function redactSecrets(value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== 'object' || depth >= MAX_REDACT_DEPTH) return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    value.forEach((item, i) => {
      const safe = redactSecrets(item, depth + 1);
      if (safe !== item) (copy ??= [...value])[i] = safe;
    });
    return copy ?? value;
  }
  let copy: Record<string, unknown> | undefined;
  const source = value as Record<string, unknown>;
  for (const key of Object.keys(source)) {
    const item = source[key];
    const safe = SECRET_KEY_SET.has(key.toLowerCase()) ? '[redacted]' : redactSecrets(item, depth + 1);
    if (safe === item) continue;
    copy ??=
      value instanceof Error
        ? { type: value.constructor.name, message: value.message, stack: value.stack, ...source }
        : { ...source };
    copy[key] = safe;
  }
  return copy ?? value;
}

/** Query parameters whose values are secrets (OAuth codes and states, Graph's validation token). */
const SECRET_QUERY = /token|code|state|secret|key|password|signature/i;

/** `LOG_LEVEL` keeps Nest's names; pino's own are the same but `log` (info) and `verbose` (trace). */
const PINO_LEVEL: Record<AppConfig['logLevel'], Level> = {
  error: 'error',
  warn: 'warn',
  log: 'info',
  debug: 'debug',
  verbose: 'trace',
};

/**
 * Nest's own start-up chatter: a line per module, per controller and per route (about sixty). Useful when a route
 * does not answer, noise otherwise, so it is logged at debug level.
 */
const START_UP_CONTEXTS = new Set(['RoutesResolver', 'RouterExplorer', 'InstanceLoader']);

/** Routes probed every few seconds by orchestrators and Prometheus: a line each would drown the rest. */
const UNLOGGED_PATHS = /^\/(health(\/live|\/ready)?|metrics)(\?|$)/;

export interface LogOutput {
  /** Where lines go; standard output when absent. */
  destination?: DestinationStream | NodeJS.WritableStream;
  /** Whether that destination is a terminal (colours in `pretty`); standard output's when absent. */
  isTTY?: boolean;
}

/**
 * The stream pino writes to: JSON lines as they are, or pino-pretty's readable lines. pino-pretty
 * runs in this thread (not as a worker transport), so a test app or a short-lived process needs no
 * extra thread and no flush on exit; colour only on a terminal, never in a file or a pipe.
 */
export function logDestination(format: AppConfig['logFormat'], output: LogOutput = {}): DestinationStream {
  const target = output.destination ?? standardOutput();
  if (format === 'json') return target as DestinationStream;
  const isTTY = output.isTTY ?? (output.destination ? false : process.stdout.isTTY === true);
  return pinoPretty({
    destination: target,
    sync: true,
    colorize: isTTY,
    translateTime: 'SYS:yyyy-mm-dd HH:MM:ss.l',
    ignore: 'pid,hostname,context,req,res,responseTime',
    messageFormat: '{if context}[{context}] {end}{msg}',
    singleLine: true,
  });
}

let stdout: DestinationStream | undefined;
/** Synchronous writes (pino's default): nothing is lost when the process exits right after a line. */
function standardOutput(): DestinationStream {
  stdout ??= pino.destination({ dest: 1, sync: true });
  return stdout;
}

/** The one pino logger of the process (see `loggerParams`). */
export function createRootLogger(config: Pick<AppConfig, 'logLevel' | 'logFormat'>, output: LogOutput = {}): Pino {
  const json = config.logFormat === 'json';
  return pino(
    {
      level: PINO_LEVEL[config.logLevel],
      base: { service: 'calsync' },
      // JSON for machines: ISO time and the level's name ("info"), which log stores index as is.
      // pino-pretty reads pino's numeric levels and epoch times, so those stay for `pretty`.
      ...(json ? { timestamp: stdTimeFunctions.isoTime } : {}),
      formatters: {
        ...(json ? { level: (label: string) => ({ level: label }) } : {}),
        log: (object: Record<string, unknown>) => redactSecrets(object) as Record<string, unknown>,
      },
    },
    logDestination(config.logFormat, output),
  );
}

/**
 * The logger's parameters (nestjs-pino's `Params` shape, shared by the request hook and
 * `CalsyncLogger`): pino-http logs one line per request (method, path, status, time) under `reqId`
 * (Fastify's request id, the `x-request-id` we answer), and every Nest `Logger` line goes to the
 * same pino logger.
 *
 * No AsyncLocalStorage: nestjs-pino's middleware would bind `reqId` to every line logged while a
 * request is handled by entering an AsyncLocalStorage context per request, and on Node 20 one
 * entered context makes every promise of the process pay async_hooks' promise hook for the rest of
 * its life (measured: push → booking rescheduled +3 ms at the median, webhook intake a third
 * slower). So ids are fields written where they are known: the request line and the 5xx line carry
 * `reqId`, what a job logs carries `jobId`/`task` (`JobContext.logFields`), what a sync logs
 * `calendarId` too (see `logLine`).
 */
export function loggerParams(config: Pick<AppConfig, 'logLevel' | 'logFormat'>, output: LogOutput = {}): Params {
  return {
    pinoHttp: {
      logger: createRootLogger(config, output),
      // The hook (`logRequests`) hands pino-http Fastify's request id (request-id.ts).
      genReqId: (req: IncomingMessage) => req.id ?? requestIdFrom(req),
      quietReqLogger: true,
      // Request lines are info; at error/warn only 5xx lines would pass, and the exception filter logs
      // those failures itself (with the stack, under the reqId): so no request is handed to pino-http
      // at all (`logRequests`).
      autoLogging: ['error', 'warn'].includes(config.logLevel)
        ? false
        : { ignore: (req: IncomingMessage) => UNLOGGED_PATHS.test(req.url ?? '') },
      customLogLevel: (_req: IncomingMessage, res: ServerResponse, error?: Error) =>
        error || res.statusCode >= 500 ? 'error' : 'info',
      customSuccessMessage: (req: IncomingMessage, res: ServerResponse, responseTime: number) =>
        `${req.method} ${safeUrl(req.url)} ${res.statusCode} ${Math.round(responseTime)} ms`,
      customErrorMessage: (req: IncomingMessage, res: ServerResponse) => `${req.method} ${safeUrl(req.url)} ${res.statusCode}`,
      // A 5xx line says so by its level and status; the error itself (with its stack) is logged once,
      // under the same reqId, by the exception filter. pino-http's stand-in error would only add noise.
      customErrorObject: (_req: IncomingMessage, _res: ServerResponse, _error: Error, value: Record<string, unknown>) => {
        const { err: _err, ...rest } = value;
        return rest;
      },
      serializers: {
        req: serializeRequest,
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
    },
  };
}

/**
 * Request lines: each request is handed to pino-http from a Fastify `onRequest` hook, and its line
 * is written when the answer is finished. When request lines are off (`LOG_LEVEL` warn or error)
 * nothing is done per request at all.
 */
export function logRequests(fastify: FastifyInstance, params: Params): void {
  const options = params.pinoHttp as HttpLoggerOptions | undefined;
  if (!options || options.autoLogging === false) return;
  const httpLogger = pinoHttp(options);
  fastify.addHook('onRequest', (request, reply, done) => {
    // pino-http's `genReqId` reads it: the line is logged under Fastify's request id.
    request.raw.id = request.id;
    httpLogger(request.raw, reply.raw);
    done();
  });
}

/** Fields a line carries besides its message: `reqId`, `jobId`, `task`, `calendarId`. */
export type LogFields = Readonly<Record<string, string | number>>;

/**
 * A message for a Nest `Logger` call, with fields: `CalsyncLogger` (nestjs-pino) writes an object's
 * keys as the line's fields and its `msg` as the message (`logger.warn(logLine('…', fields))`).
 */
export function logLine(msg: string, fields: LogFields | undefined): string | Record<string, unknown> {
  return fields ? { ...fields, msg } : msg;
}

/**
 * What a request line says about the request: never its headers (keys, cookies, channel tokens)
 * nor its body (provider tokens, webhook secrets), and the query with secret-looking values hidden.
 */
function serializeRequest(req: { method?: string; url?: string; remoteAddress?: string; raw?: IncomingMessage }) {
  const raw = req.raw;
  const userAgent = raw?.headers['user-agent'];
  return {
    method: req.method,
    url: safeUrl(req.url),
    ...(userAgent ? { userAgent } : {}),
  };
}

export function safeUrl(url: string | undefined): string {
  if (!url) return '';
  const q = url.indexOf('?');
  if (q < 0) return url;
  const params = new URLSearchParams(url.slice(q + 1));
  for (const key of [...params.keys()]) if (SECRET_QUERY.test(key)) params.set(key, '[redacted]');
  const query = params.toString().replace(/%5Bredacted%5D/g, '[redacted]');
  return `${url.slice(0, q)}${query ? `?${query}` : ''}`;
}

/**
 * The Nest `LoggerService` on top of pino: every `new Logger(context)` in the code base writes
 * through it, with `context` as a field and the fields a `logLine` message brings. Nest's start-up
 * lines are moved to debug level.
 */
export class CalsyncLogger extends NestPinoLogger {
  constructor(params: Params) {
    super(new PinoLogger(params), params);
  }

  override log(message: unknown, ...optionalParams: unknown[]): void {
    const context = optionalParams[optionalParams.length - 1];
    if (typeof context === 'string' && START_UP_CONTEXTS.has(context)) super.debug(message, ...optionalParams);
    else super.log(message, ...optionalParams);
  }

  /**
   * `error(message, error, context)`: Nest's CQRS (a command a saga started that threw) and others
   * pass the error itself after the message, and pino would drop it (an argument the message does
   * not interpolate). It goes in as `err`, with its message and stack.
   */
  override error(message: unknown, ...optionalParams: unknown[]): void {
    const cause = typeof message === 'string' ? optionalParams.find(isErrorLike) : undefined;
    if (cause === undefined) return super.error(message, ...optionalParams);
    super.error({ msg: message, err: cause }, ...optionalParams.filter((p) => p !== cause));
  }
}

/** An Error of any realm (jest's, Node's, a library's). */
function isErrorLike(value: unknown): value is Error {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { message?: unknown }).message === 'string' &&
    typeof (value as { stack?: unknown }).stack === 'string'
  );
}

const CONSOLE_LEVELS = {
  debug: 'debug',
  log: 'info',
  info: 'info',
  warn: 'warn',
  error: 'error',
  trace: 'error',
} as const;

/**
 * With `LOG_FORMAT=json`, what dependencies print on `console` becomes log lines too: the contract
 * promises one JSON object per line, and graphile-worker writes to `console` directly where it
 * offers no logger (`console.trace` of a worker that exited with an error, `console.error` of the
 * retries of a job's end). Each call is one line at the method's level (`trace` and `error` at
 * error), under `context: "console"`, through the logger of `params` (`loggerParams`), its arguments
 * formatted as `console` would (`util.format`); an `Error` among them is logged as `err`, stack
 * included. Returns what puts `console` back. Hand-written: pino has no such switch, and it is a
 * dozen lines.
 */
export function routeConsoleTo(params: Params): () => void {
  const logger = (params.pinoHttp as { logger: Pino }).logger;
  const originals = new Map<keyof typeof CONSOLE_LEVELS, (...args: unknown[]) => void>();
  const child = logger.child({ context: 'console' });
  for (const method of Object.keys(CONSOLE_LEVELS) as Array<keyof typeof CONSOLE_LEVELS>) {
    originals.set(method, console[method]);
    const level = CONSOLE_LEVELS[method];
    console[method] = (...args: unknown[]) => {
      const error = args.find((a): a is Error => a instanceof Error);
      // An error's message here, its stack under `err`; JSON keeps a message of several lines on one.
      const msg = format(...args.map((a) => (a instanceof Error ? `${a.name}: ${a.message}` : a)));
      if (error) child[level]({ err: error }, msg);
      else if (method === 'trace') child[level]({ stack: new Error().stack?.split('\n').slice(2).join('\n') }, msg);
      else child[level](msg);
    };
  }
  return () => {
    for (const [method, original] of originals) console[method] = original;
  };
}
