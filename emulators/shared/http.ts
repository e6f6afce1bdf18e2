import type { ServerResponse } from 'node:http';

/** What an emulator's route handler answers; the dispatcher writes it (and logs the status) in one place. */
export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Runs once the response is written (e.g. the pushes or notifications an API write causes). */
  after?: () => void;
}

/** Token requests are form-encoded (RFC 6749); JSON is accepted too, for curl users. */
export function parseForm(raw: Buffer, contentType: string | undefined): Record<string, string> {
  const text = raw.toString('utf8');
  if ((contentType ?? '').includes('application/json')) {
    try {
      const obj = JSON.parse(text) as Record<string, unknown>;
      return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, String(v)]));
    } catch {
      return {};
    }
  }
  return Object.fromEntries(new URLSearchParams(text));
}

/** Writes a reply: no body for 204/304, JSON (in `defaultContentType`) unless the reply says otherwise. */
export function writeReply(res: ServerResponse, reply: Reply, defaultContentType: string): void {
  const headers: Record<string, string> = { ...(reply.headers ?? {}) };
  if (reply.body === undefined || reply.status === 204 || reply.status === 304) {
    res.writeHead(reply.status, headers);
    res.end();
    return;
  }
  const text = typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
  headers['Content-Type'] ??= defaultContentType;
  headers['Content-Length'] = String(Buffer.byteLength(text));
  res.writeHead(reply.status, headers);
  res.end(text);
}
