import { EntityManager } from 'typeorm';

/**
 * Explicit ids at or above this (2^30, half the `integer` range) never move the id sequence: a host
 * application may keep ids of its own up there (or send 2147483647) without exhausting the ids
 * generated for everyone after it.
 */
export const SEQUENCE_CEILING = 2 ** 30;

/** Taken ids a generated insert steps over before it gives up (only reachable by a crowded upper range). */
const MAX_SKIPS = 1000;

/**
 * Inserts a row into a SERIAL-keyed table, with the caller's id when given (a host application
 * reusing its own ids), else with the next generated one.
 *
 * - An explicit id below `SEQUENCE_CEILING` moves the sequence past it (never back), so generated
 *   ids keep clear of the host's ids in the same range, as they always did.
 * - An explicit id at or above the ceiling leaves the sequence alone.
 * - A generated id that is taken anyway (an explicit one the sequence has not been moved past, or
 *   one inserted concurrently) is skipped: the insert takes the next value (`ON CONFLICT ("id")`
 *   on the key alone, so other unique violations still surface).
 */
export async function insertWithOptionalId(
  manager: EntityManager,
  table: string,
  id: number | undefined,
  values: Record<string, unknown>,
): Promise<number> {
  const columns = Object.keys(values);
  const params = Object.values(values);
  const quoted = ['"id"', ...columns.map((c) => `"${c}"`)];
  const sequence = `pg_get_serial_sequence('"${table}"', 'id')`;
  const placeholders = columns.map((_, i) => `$${i + 1}`);
  if (id !== undefined) {
    const rows: Array<{ id: number }> = await manager.query(
      `INSERT INTO "${table}" (${quoted.join(', ')}) VALUES ($${params.length + 1}, ${placeholders.join(', ')}) RETURNING "id"`,
      [...params, id],
    );
    if (id < SEQUENCE_CEILING) {
      await manager.query(`SELECT setval(${sequence}, $1) WHERE $1 > COALESCE(pg_sequence_last_value(${sequence}), 0)`, [id]);
    }
    return rows[0].id;
  }
  for (let attempt = 0; attempt < MAX_SKIPS; attempt++) {
    const rows: Array<{ id: number }> = await manager.query(
      `INSERT INTO "${table}" (${quoted.join(', ')}) VALUES (nextval(${sequence}), ${placeholders.join(', ')})
       ON CONFLICT ("id") DO NOTHING RETURNING "id"`,
      params,
    );
    if (rows.length > 0) return rows[0].id;
  }
  throw new Error(`No free generated id in "${table}" after ${MAX_SKIPS} taken ones`);
}
