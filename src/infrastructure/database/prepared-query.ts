import { createHash } from 'node:crypto';
import type pg from 'pg';
import { DataSource, type EntityManager, QueryFailedError } from 'typeorm';

const names = new Map<string, string>();

/**
 * Runs a statement as a named prepared statement: PostgreSQL parses and plans it once per
 * connection (and, after a few runs, keeps a generic plan) instead of on every call. For the few
 * large statements on every calendar change's path (the history entry with the host's event is
 * one statement of eight parts: planning took as long as executing it, about 0.3 ms each on an
 * idle machine). TypeORM's `query` has no way to name a statement, so this goes to the connection
 * TypeORM holds: the transaction's when `manager` has one, the pool's otherwise. Errors are
 * TypeORM's `QueryFailedError`, as from `query`. (graphile-worker prepares its statements too, so
 * a deployment already needs a PostgreSQL or pooler that keeps them.)
 *
 * Only for statements that name their result columns: a prepared `SELECT *` fails with "cached
 * plan must not change result type" on every connection that prepared it once a migration adds a
 * column (a rolling deploy migrates while the old instances still run).
 */
export async function preparedQuery<T>(target: EntityManager | DataSource, text: string, params: unknown[]): Promise<T[]> {
  let name = names.get(text);
  if (!name) {
    name = `calsync_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`;
    names.set(text, name);
  }
  const manager = target instanceof DataSource ? target.manager : target;
  const runner = manager.queryRunner;
  try {
    if (runner && !runner.isReleased) {
      const client = (await runner.connect()) as pg.PoolClient;
      return (await client.query<T & pg.QueryResultRow>({ name, text, values: params })).rows;
    }
    const pool = (manager.connection.driver as unknown as { master: pg.Pool }).master;
    return (await pool.query<T & pg.QueryResultRow>({ name, text, values: params })).rows;
  } catch (error) {
    throw new QueryFailedError(text, params, error as Error);
  }
}
