import { SealedValueUnreadableError, type TokenCipher } from './token-cipher.js';

/** What a re-seal pass did over one table's sealed column. */
export interface ResealReport {
  /** Rows read. */
  checked: number;
  /** Rows written again under the first key, bound to their row. */
  resealed: number;
  /** Rows already in the current format under the first key. */
  current: number;
  /** Rows no key of the ring opens: left as they are. */
  unreadable: number;
  /** Their ids (the first 1,000). */
  unreadableIds: number[];
}

const MAX_REPORTED_IDS = 1000;

export interface ResealSource {
  /** The next rows by id after `afterId`. */
  batch(afterId: number, limit: number): Promise<Array<{ id: number; sealed: string }>>;
  /** Writes the new value only if the row still holds `previous` (a concurrent write wins); true when written. */
  replace(id: number, previous: string, next: string): Promise<boolean>;
  /** The additional data a row's value is bound to, e.g. `credential:42`. */
  context(id: number): string;
}

/**
 * Walks a table by id in batches and re-seals every value that is not current (older format, or
 * sealed with a key other than the first). Each write is a compare-and-set on the old value, so a
 * token refreshed meanwhile (sealed afresh, with the first key) is never overwritten with an older
 * one, and a pass that dies half-way leaves every row readable: rerun it.
 */
export async function resealInBatches(cipher: TokenCipher, source: ResealSource, batchSize = 200): Promise<ResealReport> {
  const report: ResealReport = { checked: 0, resealed: 0, current: 0, unreadable: 0, unreadableIds: [] };
  let afterId = 0;
  for (;;) {
    const rows = await source.batch(afterId, batchSize);
    for (const row of rows) {
      report.checked += 1;
      if (!cipher.needsReseal(row.sealed)) {
        // Current format under the first key; it still has to open for this row.
        try {
          cipher.open(row.sealed, source.context(row.id));
          report.current += 1;
        } catch (error) {
          if (!(error instanceof SealedValueUnreadableError)) throw error;
          noteUnreadable(report, row.id);
        }
        continue;
      }
      let next: string;
      try {
        next = cipher.reseal(row.sealed, source.context(row.id));
      } catch (error) {
        if (!(error instanceof SealedValueUnreadableError)) throw error;
        noteUnreadable(report, row.id);
        continue;
      }
      if (await source.replace(row.id, row.sealed, next)) report.resealed += 1;
      else report.current += 1;
    }
    if (rows.length < batchSize) return report;
    afterId = rows[rows.length - 1].id;
  }
}

function noteUnreadable(report: ResealReport, id: number): void {
  report.unreadable += 1;
  if (report.unreadableIds.length < MAX_REPORTED_IDS) report.unreadableIds.push(id);
}
