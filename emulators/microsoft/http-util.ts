import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Reply, parseForm, writeReply as writeShared } from '../shared/http.js';
import { GraphApiError } from './errors.js';

export type { Reply } from '../shared/http.js';

export type QueryMap = Record<string, string | string[]>;

const MAX_BODY_BYTES = 16 * 1024 * 1024;

/** What Graph answers with its JSON; the Graph client only looks at the part before ';'. */
export const GRAPH_JSON = 'application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8';

export function parseQuery(search: URLSearchParams): QueryMap {
  const out: QueryMap = {};
  for (const [k, v] of search) {
    const prev = out[k];
    if (prev === undefined) out[k] = v;
    else if (Array.isArray(prev)) prev.push(v);
    else out[k] = [prev, v];
  }
  return out;
}

/** Graph reads query option names case-insensitively (`startdatetime` works as well as `startDateTime`). */
export function queryParam(search: URLSearchParams, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [k, v] of search) if (k.toLowerCase() === wanted) return v;
  return undefined;
}

export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new GraphApiError(413, 'RequestEntityTooLarge', 'The request body is too large.'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export function parseJsonObject(raw: Buffer): Record<string, unknown> {
  if (raw.length === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch {
    parsed = undefined;
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new GraphApiError(
      400,
      'BadRequest',
      'Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.',
    );
  }
  return parsed as Record<string, unknown>;
}

export async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  return parseJsonObject(await readBody(req));
}

export async function readForm(req: IncomingMessage): Promise<Record<string, string>> {
  return parseForm(await readBody(req), req.headers['content-type']);
}

export function writeReply(res: ServerResponse, reply: Reply): void {
  writeShared(res, reply, 'application/json; charset=utf-8');
}

/** One header as a string (repeated headers joined), or undefined. */
export function header(req: Pick<IncomingMessage, 'headers'>, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}
