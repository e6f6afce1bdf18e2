import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';

/**
 * `Idempotency-Key` for the writes a host application retries (`POST /api/v1/bookings`,
 * `…/reschedule`, `…/cancel`): a repeat with the same key and body answers the first answer and
 * changes nothing; the same key with another body is a 422.
 *
 * How it holds under retries, races and crashes: the key's row ("IdempotencyKey", owned here) is
 * written inside the command's own transaction, first thing (`within`), and completed with the
 * answer as the transaction's last statement. So:
 * - the key exists exactly when the change does: a process that dies mid-way rolls both back, and
 *   the retry runs the command afresh (no key is ever left "in progress");
 * - two requests with the same key at once: the second one's INSERT waits on the first one's
 *   uncommitted row (PostgreSQL's unique index), then finds it and answers the stored answer (or
 *   runs, if the first one failed and rolled back). Exactly one executes; the other waits for it
 *   rather than answering 409, since a host retrying after a timeout wants the answer, and the
 *   wait is bounded by one database transaction (provider calls happen later, in jobs);
 * - only successful answers are stored: a request that fails changes nothing, so its retry runs
 *   again (and may succeed, or fail the same way).
 *
 * The request's key travels from `IdempotencyInterceptor` to the command's transaction as an
 * `IdempotencyTicket`: the interceptor puts it on the request, the route hands it to its command
 * (`@IdempotencyTicketOf()`), the command's handler to `within`. Only that command claims the key;
 * another command run in the same request (an event handler's, a saga's) has no ticket. Passed
 * explicitly rather than through an AsyncLocalStorage context: on Node 20 one entered context makes
 * every promise of the process pay async_hooks' promise hook from then on.
 */

export const IDEMPOTENCY_KEY_TTL_HOURS = 24;

export interface IdempotentRequest {
  /** The caller (a hash of its API key). */
  scope: string;
  /**
   * Where versions before keys were the caller's kept them (the caller and the route template):
   * looked up, and claimed and answered too, so an instance of such a version running beside this
   * one (a rolling upgrade) finds this one's key. To drop once no such version runs anywhere.
   */
  legacyScope?: string;
  key: string;
  /** Hash of method, path and body: a repeat must match it. */
  fingerprint: string;
  /** The status a successful answer has (the route's). */
  status: number;
}

/** One request's key on its way to its command (see above); `within` marks it claimed and answered. */
export interface IdempotencyTicket extends IdempotentRequest {
  claimed: boolean;
  /** The answer stored with the key, once the command's transaction wrote it. */
  recorded?: { body: unknown };
}

export interface StoredAnswer {
  fingerprint: string;
  status: number;
  body: unknown;
}

/** The key was used before (committed): the interceptor answers `stored` instead (or 422). */
export class IdempotentReplay extends Error {
  constructor(readonly stored: StoredAnswer) {
    super('idempotent replay');
  }
}

@Injectable()
export class IdempotencyStore {
  constructor(private readonly dataSource: DataSource) {}

  /** A ticket for a request with this key (the interceptor). */
  ticket(request: IdempotentRequest): IdempotencyTicket {
    return { ...request, claimed: false };
  }

  /** The committed answer to this key under any of `scopes`, when it is still kept. */
  async find(scopes: string[], key: string): Promise<StoredAnswer | null> {
    const rows: Array<{ fingerprint: string; status: number; response: string }> = await this.dataSource.query(
      `SELECT "fingerprint", "status", "response" FROM "IdempotencyKey"
        WHERE "scope" = ANY($1::text[]) AND "key" = $2 AND "expiresAt" > clock_timestamp() AND "status" IS NOT NULL
        ORDER BY "createdAt" LIMIT 1`,
      [scopes, key],
    );
    return rows[0] ? toStored(rows[0]) : null;
  }

  /**
   * Inside a command's transaction (`manager`): claims the ticket's key, runs `body`, and stores
   * `answer(result)` as the first answer, all in that transaction. Without a ticket (a saga's
   * command, a request without the header) it only runs `body`.
   */
  async within<T>(
    manager: EntityManager,
    ctx: IdempotencyTicket | undefined,
    answer: (result: T) => unknown,
    body: () => Promise<T>,
  ): Promise<T> {
    if (!ctx || ctx.claimed) return body();
    ctx.claimed = true;
    try {
      await this.claim(manager, ctx);
      const result = await body();
      const response = await answer(result);
      await manager.query(
        `UPDATE "IdempotencyKey" SET "status" = $3, "response" = $4 WHERE "scope" = ANY($1::text[]) AND "key" = $2`,
        [scopesOf(ctx), ctx.key, ctx.status, JSON.stringify(response ?? null)],
      );
      ctx.recorded = { body: response };
      return result;
    } catch (error) {
      // Rolled back: a retry of this transaction (in this request) claims the key again.
      ctx.claimed = false;
      ctx.recorded = undefined;
      throw error;
    }
  }

  /** Removes keys past their 24 hours, a batch at a time; answers how many. */
  async removeExpired(batch = 5000): Promise<number> {
    let total = 0;
    for (;;) {
      const rows: Array<{ n: number }> = await this.dataSource.query(
        `WITH gone AS (
           DELETE FROM "IdempotencyKey" WHERE ctid IN (
             SELECT ctid FROM "IdempotencyKey" WHERE "expiresAt" <= clock_timestamp() LIMIT $1)
           RETURNING 1)
         SELECT count(*)::int AS n FROM gone`,
        [batch],
      );
      const n = rows[0]?.n ?? 0;
      total += n;
      if (n < batch) return total;
    }
  }

  /**
   * Inserts the key's row, uncommitted until the command commits. A concurrent request with the
   * same key waits here for this one's outcome; an expired row is taken over as new. With a legacy
   * scope, its row too: during a rolling upgrade an instance of the version before (which claims
   * only that one) and this one then wait for each other on the same row, and each finds the
   * other's answer.
   */
  private async claim(manager: EntityManager, request: IdempotentRequest): Promise<void> {
    for (const scope of scopesOf(request)) await this.claimIn(manager, request, scope);
  }

  private async claimIn(manager: EntityManager, request: IdempotentRequest, scope: string): Promise<void> {
    const claimed: unknown[] = await manager.query(
      `INSERT INTO "IdempotencyKey" ("scope", "key", "fingerprint", "expiresAt")
       VALUES ($1, $2, $3, clock_timestamp() + make_interval(hours => $4))
       ON CONFLICT ("scope", "key") DO UPDATE
         SET "fingerprint" = EXCLUDED."fingerprint", "status" = NULL, "response" = NULL,
             "createdAt" = clock_timestamp(), "expiresAt" = EXCLUDED."expiresAt"
         WHERE "IdempotencyKey"."expiresAt" <= clock_timestamp()
       RETURNING 1`,
      [scope, request.key, request.fingerprint, IDEMPOTENCY_KEY_TTL_HOURS],
    );
    if (claimed.length > 0) return;
    const rows: Array<{ fingerprint: string; status: number; response: string }> = await manager.query(
      `SELECT "fingerprint", "status", "response" FROM "IdempotencyKey" WHERE "scope" = $1 AND "key" = $2`,
      [scope, request.key],
    );
    if (!rows[0] || rows[0].status === null) {
      // Not reachable: a row is only ever committed with its answer. Fail rather than run twice.
      throw new Error('Idempotency key row without an answer');
    }
    throw new IdempotentReplay(toStored(rows[0]));
  }
}

/** The scopes a request's key is claimed and answered under (see `IdempotentRequest.legacyScope`). */
function scopesOf(request: IdempotentRequest): string[] {
  return request.legacyScope && request.legacyScope !== request.scope ? [request.scope, request.legacyScope] : [request.scope];
}

function toStored(row: { fingerprint: string; status: number; response: string }): StoredAnswer {
  return { fingerprint: row.fingerprint, status: Number(row.status), body: JSON.parse(row.response) as unknown };
}
