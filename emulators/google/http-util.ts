import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Reply, parseForm, writeReply as writeShared } from '../shared/http.js';
import { badRequest } from './errors.js';

export type { Reply } from '../shared/http.js';

export type QueryMap = Record<string, string | string[]>;

const MAX_BODY_BYTES = 64 * 1024 * 1024;

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

export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(badRequest('Request body too large.'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const raw = await readBody(req);
  if (raw.length === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch {
    throw badRequest('Parse Error', 'parseError');
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
    throw badRequest('Request body must be a JSON object.', 'parseError');
  return parsed as Record<string, unknown>;
}

export async function readForm(req: IncomingMessage): Promise<Record<string, string>> {
  return parseForm(await readBody(req), req.headers['content-type']);
}

export function writeReply(res: ServerResponse, reply: Reply): void {
  writeShared(res, reply, 'application/json; charset=UTF-8');
}
