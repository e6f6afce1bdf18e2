import { createHash } from 'node:crypto';
import {
  type CallHandler,
  type ExecutionContext,
  Injectable,
  type NestInterceptor,
  UseInterceptors,
  applyDecorators,
  createParamDecorator,
} from '@nestjs/common';
import { HTTP_CODE_METADATA } from '@nestjs/common/constants.js';
import { Reflector } from '@nestjs/core';
import { ApiHeader } from '@nestjs/swagger';
import { type Observable, from, lastValueFrom } from 'rxjs';
import { IdempotencyKeyReusedError, InvalidIdempotencyKeyError, MAX_IDEMPOTENCY_KEY_LENGTH } from './idempotency.errors.js';
import {
  type IdempotencyTicket,
  IdempotencyStore,
  type IdempotentRequest,
  IdempotentReplay,
  type StoredAnswer,
} from './idempotency.store.js';

interface RequestLike {
  /** Set by the interceptor when the request has a key; read by `@IdempotencyTicketOf()`. */
  idempotencyTicket?: IdempotencyTicket;
  method: string;
  url: string;
  body?: unknown;
  headers: Record<string, string | string[] | undefined>;
  routeOptions?: { url?: string };
}

interface ReplyLike {
  header(name: string, value: string): unknown;
}

/**
 * Makes a write route honour `Idempotency-Key` (see `IdempotencyStore`). The route hands
 * `@IdempotencyTicketOf()` to its command, whose transaction runs through `IdempotencyStore.within`.
 */
export const Idempotent = () =>
  applyDecorators(
    UseInterceptors(IdempotencyInterceptor),
    ApiHeader({
      name: 'Idempotency-Key',
      required: false,
      description:
        'Up to 255 characters, unique per request you mean (a UUID): a repeat with the same key and body answers the ' +
        'first answer and changes nothing; the same key with another body is a 422. Kept 24 hours.',
    }),
  );

/** The request's `IdempotencyTicket` (undefined without an `Idempotency-Key`), for the route's command. */
export const IdempotencyTicketOf = createParamDecorator(
  (_data: unknown, context: ExecutionContext): IdempotencyTicket | undefined =>
    context.switchToHttp().getRequest<RequestLike>().idempotencyTicket,
);

@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  constructor(
    private readonly store: IdempotencyStore,
    private readonly reflector: Reflector,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const http = context.switchToHttp();
    const request = http.getRequest<RequestLike>();
    const reply = http.getResponse<ReplyLike>();
    const key = readKey(request.headers['idempotency-key']);
    if (key === undefined) return next.handle();
    const status =
      this.reflector.get<number | undefined>(HTTP_CODE_METADATA, context.getHandler()) ?? (request.method === 'POST' ? 201 : 200);
    const caller = callerOf(request);
    const idempotent: IdempotentRequest = {
      // A key is the caller's, whatever the route: the same key on another route is another
      // request, a 422 (the fingerprint holds method and path).
      scope: caller,
      // Keys stored by versions that scoped them per route, looked up until they expire (24 h).
      legacyScope: `${caller}:${request.method} ${request.routeOptions?.url ?? request.url.split('?')[0]}`,
      key,
      fingerprint: fingerprint(request),
      status,
    };
    // An empty body `{}` was fingerprinted apart from no body before 5 December 2026: a key stored
    // then for `{}` (kept 24 hours) still matches its repeat. To drop after that.
    const legacyFingerprint = isEmptyBody(request.body)
      ? legacyEmptyObjectFingerprint(request.method, request.url.split('?')[0])
      : undefined;
    return from(this.handle({ ...idempotent, legacyFingerprint }, request, reply, next));
  }

  private async handle(
    idempotent: IdempotentRequest & { legacyFingerprint?: string },
    request: RequestLike,
    reply: ReplyLike,
    next: CallHandler,
  ): Promise<unknown> {
    const stored = await this.store.find([idempotent.scope, idempotent.legacyScope ?? idempotent.scope], idempotent.key);
    if (stored) return replay(stored, idempotent, reply);
    const ticket = this.store.ticket(idempotent);
    request.idempotencyTicket = ticket;
    try {
      const result = await lastValueFrom(next.handle(), { defaultValue: undefined });
      // The stored answer is the answer, byte for byte the same as any replay of it.
      return ticket.recorded ? ticket.recorded.body : result;
    } catch (error) {
      if (error instanceof IdempotentReplay) return replay(error.stored, idempotent, reply);
      throw error;
    }
  }
}

function replay(stored: StoredAnswer, request: IdempotentRequest & { legacyFingerprint?: string }, reply: ReplyLike): unknown {
  if (stored.fingerprint !== request.fingerprint && stored.fingerprint !== request.legacyFingerprint) {
    throw new IdempotencyKeyReusedError();
  }
  reply.header('idempotent-replayed', 'true');
  return stored.body;
}

function readKey(raw: string | string[] | undefined): string | undefined {
  if (raw === undefined) return undefined;
  if (Array.isArray(raw)) throw new InvalidIdempotencyKeyError('Send one Idempotency-Key header, not several');
  if (raw.length === 0) throw new InvalidIdempotencyKeyError('Idempotency-Key must not be empty');
  if (raw.length > MAX_IDEMPOTENCY_KEY_LENGTH) {
    throw new InvalidIdempotencyKeyError(`Idempotency-Key must be at most ${MAX_IDEMPOTENCY_KEY_LENGTH} characters`);
  }
  if (!/^[\x20-\x7e]+$/.test(raw)) throw new InvalidIdempotencyKeyError('Idempotency-Key must be printable ASCII');
  return raw;
}

/** Keys are scoped per API key: a short hash of the bearer token (never the token itself). */
function callerOf(request: RequestLike): string {
  const authorization = request.headers.authorization;
  const token = typeof authorization === 'string' ? authorization.replace(/^Bearer\s+/i, '').trim() : '';
  return createHash('sha256').update(`calsync idempotency caller:${token}`).digest('base64url').slice(0, 22);
}

function fingerprint(request: RequestLike): string {
  return requestFingerprint(request.method, request.url.split('?')[0], request.body);
}

/**
 * Method, path (with the booking id) and body, with object keys sorted so key order does not matter.
 * An empty body is no body: `POST …/cancel` sent without one and with `{}` is the same request (and
 * hashes as versions before this one hashed a request without a body).
 */
export function requestFingerprint(method: string, path: string, body: unknown): string {
  return createHash('sha256')
    .update(canonicalJson({ method, path, body: isEmptyBody(body) ? null : body }))
    .digest('base64url');
}

/** What `requestFingerprint` gave a `{}` body before 5 December 2026. */
function legacyEmptyObjectFingerprint(method: string, path: string): string {
  return createHash('sha256')
    .update(canonicalJson({ method, path, body: {} }))
    .digest('base64url');
}

function isEmptyBody(body: unknown): boolean {
  return (
    body === undefined ||
    body === null ||
    (typeof body === 'object' && !Array.isArray(body) && Object.keys(body as object).length === 0)
  );
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
