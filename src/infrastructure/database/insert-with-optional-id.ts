import { EntityManager } from 'typeorm';

/**
 * Inserts a row into a SERIAL-keyed table, with the caller's id when given (a host application
 * reusing its own ids). The sequence is then moved past the largest id, so later generated ids
 * never collide with one a caller chose.
 */
export async function insertWithOptionalId(
  manager: EntityManager,
  table: string,
  id: number | undefined,
  values: Record<string, unknown>,
): Promise<number> {
  const columns = Object.keys(values);
  const params = Object.values(values);
  const quoted = columns.map((c) => `"${c}"`);
  const placeholders = columns.map((_, i) => `$${i + 1}`);
  if (id !== undefined) {
    quoted.unshift('"id"');
    placeholders.unshift(`$${params.length + 1}`);
    params.push(id);
  }
  const rows: Array<{ id: number }> = await manager.query(
    `INSERT INTO "${table}" (${quoted.join(', ')}) VALUES (${placeholders.join(', ')}) RETURNING "id"`,
    params,
  );
  if (id !== undefined) {
    await manager.query(
      `SELECT setval(pg_get_serial_sequence('"${table}"', 'id'), GREATEST((SELECT max("id") FROM "${table}"), 1))`,
    );
  }
  return rows[0].id;
}
