import http from 'node:http';
import https from 'node:https';
import { createSecureContext, rootCertificates } from 'node:tls';
import type { Context, Middleware } from '@microsoft/microsoft-graph-client';

/** The subset of `fetch` the Graph client and the token endpoint need. */
export interface HttpRequestInit {
  method?: string;
  headers?: Record<string, string> | Headers;
  body?: string | Uint8Array | null;
  signal?: AbortSignal | null;
  /** Overrides `GraphHttpOptions.timeoutMs` for this request. */
  timeoutMs?: number;
}

export type FetchLike = (url: string, init?: HttpRequestInit) => Promise<Response>;

export interface GraphHttpOptions {
  /** Extra CA certificate (PEM) trusted on top of Node's bundled roots. */
  caCertificate: string | null;
  /** Every request is aborted after this long (connect, send and read included). */
  timeoutMs: number;
  /** A larger answer is refused rather than buffered (a delta page of 1000 events is a few MB). */
  maxResponseBytes?: number;
}

const NULL_BODY_STATUSES = new Set([204, 205, 304]);
const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

/**
 * The HTTP transport of every Graph and token-endpoint call, on `node:https` with a keep-alive agent.
 *
 * Why not the Graph client's own `HTTPMessageHandler`: on Node 20 it calls the global `fetch`
 * (undici), which ignores `fetchOptions.agent`, so an `https.Agent({ca})` handed to the client is
 * silently dropped; undici's own `dispatcher` option would need the `undici` package, which is not a
 * dependency. `node:https` takes the agent, so `MicrosoftConfig.caCertificate` (the CA of the loopback
 * emulator's certificate) is trusted here without touching the process-wide trust store.
 * The answer is handed back as a WHATWG `Response`, which is all the Graph client reads.
 */
export class GraphHttp {
  private readonly httpsAgent: https.Agent;
  private readonly httpAgent = new http.Agent({ keepAlive: true });
  private readonly maxResponseBytes: number;

  constructor(private readonly options: GraphHttpOptions) {
    this.httpsAgent = new https.Agent({
      keepAlive: true,
      // `ca` replaces the default roots, so keep them: the extra certificate is trusted on top. As
      // one secure context made here, not a `ca` option: the agent would join the ~140 roots into
      // its pool key on every request and load them all into a new context for every connection
      // (together 7 % of the process's CPU while subscribing 900 Outlook and Google calendars).
      ...(options.caCertificate
        ? { secureContext: createSecureContext({ ca: [...rootCertificates, options.caCertificate] }) }
        : {}),
    });
    this.maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  }

  readonly fetch: FetchLike = (url, init = {}) => this.request(url, init);

  /** Closes idle keep-alive sockets (on shutdown). */
  close(): void {
    this.httpsAgent.destroy();
    this.httpAgent.destroy();
  }

  private request(url: string, init: HttpRequestInit): Promise<Response> {
    return new Promise<Response>((resolve, reject) => {
      let target: URL;
      try {
        target = new URL(url);
      } catch {
        reject(new TypeError(`Invalid URL for a Graph call: ${url}`));
        return;
      }
      const secure = target.protocol === 'https:';
      if (!secure && target.protocol !== 'http:') {
        reject(new TypeError(`Unsupported protocol for a Graph call: ${target.protocol}`));
        return;
      }
      const timeout = AbortSignal.timeout(init.timeoutMs ?? this.options.timeoutMs);
      const signal = init.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
      if (signal.aborted) {
        reject(abortReason(signal));
        return;
      }

      const headers = headerRecord(init.headers);
      const body = bodyBytes(init.body);
      if (body) headers['content-length'] = String(body.length);

      let settled = false;
      const finish = (error: Error | null, response?: Response) => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        if (error) reject(error);
        else resolve(response as Response);
      };
      const request = (secure ? https : http).request(
        target,
        { method: init.method ?? 'GET', headers, agent: secure ? this.httpsAgent : this.httpAgent },
        (incoming) => {
          const chunks: Buffer[] = [];
          let size = 0;
          incoming.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > this.maxResponseBytes) {
              incoming.destroy(new Error(`Graph answer larger than ${this.maxResponseBytes} bytes`));
              return;
            }
            chunks.push(chunk);
          });
          incoming.on('error', (error) => finish(error));
          incoming.on('aborted', () => finish(new Error('Graph answer cut off')));
          incoming.on('end', () => {
            const status = incoming.statusCode ?? 0;
            const responseHeaders = new Headers();
            const raw = incoming.rawHeaders;
            for (let i = 0; i + 1 < raw.length; i += 2) responseHeaders.append(raw[i] as string, raw[i + 1] as string);
            try {
              finish(
                null,
                new BufferedResponse(
                  NULL_BODY_STATUSES.has(status)
                    ? null
                    : chunks.length === 1
                      ? (chunks[0] as Buffer)
                      : Buffer.concat(chunks, size),
                  { status, statusText: incoming.statusMessage ?? '', headers: responseHeaders },
                ).asResponse(),
              );
            } catch (error) {
              finish(error instanceof Error ? error : new Error(String(error)));
            }
          });
        },
      );
      const onAbort = () => {
        const reason = abortReason(signal);
        request.destroy(reason);
        finish(reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      request.on('error', (error) => finish(error));
      request.end(body ?? undefined);
    });
  }
}

/**
 * `Response` as a base class: the DOM typings declare its body readers as properties, which a
 * subclass may not override with methods, so the base is typed with only what is inherited as is.
 */
const ResponseBase = Response as unknown as new (
  body: null,
  init: ResponseInit,
) => Pick<Response, 'headers' | 'ok' | 'redirected' | 'status' | 'statusText' | 'type' | 'url'>;

/**
 * A `Response` over an answer already read into memory: `text()`, `json()`, `arrayBuffer()` and
 * `blob()` read those bytes as they are, once, as a `Response` allows (text as UTF-8, a leading BOM
 * dropped). Why not `new Response(bytes)`: it copies the bytes when it is made and twice more when
 * they are read (into its stream, out of it, then through `TextDecoder`). For the 1.6 MB delta pages
 * of an Outlook first sync those copies took about a tenth of the service's CPU, and each copy, a
 * large object, brought V8's next full collection nearer: the sync's CPU fell by about a seventh
 * without them (`npm run bench -- outlook-full-sync`, bench/README.md, "Runs of 5 December"). `body`
 * (a stream) is made only when asked for; the Graph client reads JSON and text answers through
 * `json()` and `text()`.
 */
export class BufferedResponse extends ResponseBase {
  readonly #bytes: Buffer | null;
  #used = false;
  #stream: ReadableStream<Uint8Array> | null = null;

  /** @param bytes null for an answer without a body (204, 205, 304). */
  constructor(bytes: Buffer | null, init: ResponseInit) {
    super(null, init);
    this.#bytes = bytes;
  }

  get body(): ReadableStream<Uint8Array> | null {
    if (!this.#bytes) return null;
    this.#stream ??= new Response(this.#bytes).body;
    return this.#stream;
  }

  get bodyUsed(): boolean {
    return this.#used;
  }

  async text(): Promise<string> {
    return utf8(this.#take());
  }

  async json(): Promise<unknown> {
    return JSON.parse(utf8(this.#take()));
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    const bytes = this.#take();
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  }

  async blob(): Promise<Blob> {
    return new Blob([this.#take()], { type: this.headers.get('content-type') ?? '' });
  }

  clone(): BufferedResponse {
    if (this.#used) throw new TypeError('Response.clone: Body has already been consumed.');
    return new BufferedResponse(this.#bytes, { status: this.status, statusText: this.statusText, headers: this.headers });
  }

  /** As the `Response` it is at run time (`instanceof Response` holds), for the typings. */
  asResponse(): Response {
    return this as unknown as Response;
  }

  #take(): Buffer {
    if (this.#used) throw new TypeError('Body is unusable: Body has already been read');
    this.#used = true;
    return this.#bytes ?? Buffer.alloc(0);
  }
}

/** UTF-8 decoding as `Response.text()` does it: a byte order mark at the start is not text. */
function utf8(bytes: Buffer): string {
  const bom = bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
  return bytes.toString('utf8', bom ? 3 : 0);
}

/**
 * The last link of the Graph client's middleware chain: sends the request through `GraphHttp`.
 * (It replaces `HTTPMessageHandler`, see `GraphHttp` for why.)
 */
export class GraphHttpHandler implements Middleware {
  /**
   * @param onResponse sees every raw answer: the client keeps an error answer's headers (Retry-After)
   *   only when its body is Graph's JSON error, so the caller can fall back on these.
   */
  constructor(
    private readonly fetch: FetchLike,
    private readonly onResponse?: (response: Response) => void,
  ) {}

  async execute(context: Context): Promise<void> {
    const url = typeof context.request === 'string' ? context.request : context.request.url;
    const options = context.options ?? {};
    const body = options.body;
    if (body !== undefined && body !== null && typeof body !== 'string' && !(body instanceof Uint8Array)) {
      throw new TypeError('Graph request bodies are JSON strings here');
    }
    try {
      context.response = await this.fetch(url, {
        method: options.method,
        headers: options.headers as Record<string, string> | Headers | undefined,
        body,
        signal: options.signal,
        // Set per request with `GraphRequest.option('timeoutMs', ms)`.
        timeoutMs: (options as { timeoutMs?: number }).timeoutMs,
      });
    } catch (error) {
      // The client keeps a failure's message only when `error instanceof Error` holds in its own
      // realm; socket errors come from Node's. Rebuild it here, code included (ECONNRESET…).
      const source = (error ?? {}) as { name?: unknown; message?: unknown; code?: unknown };
      const copy = new Error(typeof source.message === 'string' ? source.message : String(error));
      copy.name = typeof source.code === 'string' ? source.code : typeof source.name === 'string' ? source.name : 'Error';
      throw copy;
    }
    this.onResponse?.(context.response);
  }
}

function headerRecord(headers: HttpRequestInit['headers']): Record<string, string> {
  const record: Record<string, string> = {};
  if (!headers) return record;
  if (headers instanceof Headers) {
    headers.forEach((value, key) => {
      record[key] = value;
    });
    return record;
  }
  for (const key of Object.keys(headers)) {
    const value = headers[key];
    if (value !== undefined && value !== null) record[key.toLowerCase()] = String(value);
  }
  return record;
}

function bodyBytes(body: HttpRequestInit['body']): Buffer | null {
  if (body === undefined || body === null) return null;
  return typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  // AbortSignal.timeout's reason is a DOMException ('TimeoutError'); copy it into a plain Error so
  // that `instanceof Error` holds whatever realm checks it (the Graph client's error handler does).
  const described = typeof reason === 'object' && reason !== null ? (reason as { name?: unknown; message?: unknown }) : null;
  const error = new Error(typeof described?.message === 'string' ? described.message : 'The Graph call was aborted');
  error.name = typeof described?.name === 'string' ? described.name : 'AbortError';
  return error;
}
