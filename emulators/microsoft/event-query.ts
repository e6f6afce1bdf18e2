import { badRequest, deltaExpired, GraphApiError } from './errors.js';
import { removedEntry } from './event-json.js';
import {
  type CalendarState,
  changeIndexAfter,
  type EventStore,
  overlaps,
  type StoredEvent,
  type ViewItem,
} from './event-store.js';
import { occurrenceId } from './ids.js';
import { occurrences } from './recurrence.js';
import { resolveTimeZone } from './time.js';

/**
 * Reads that page: calendarView, the events collection ($filter on iCalUId), and calendarView/delta.
 * Delta tokens are stateless cursors into the calendar's change log (like Graph's, opaque to clients): a
 * full round pins the change counter at its first page, so a change made between pages shows up again in
 * the next round; an incremental round reports each changed record once, by its latest change.
 */

export const DEFAULT_PAGE_SIZE = 10;
export const MAX_PAGE_SIZE = 1000;

export interface Prefer {
  /** outlook.timezone, as the client spelt it, when Intl or the Windows table knows it. */
  zoneName?: string;
  zone?: string;
  textBody: boolean;
  maxPageSize?: number;
  /** What goes back in Preference-Applied. */
  applied: string[];
}

/** Prefer: outlook.timezone="…", outlook.body-content-type="text", odata.maxpagesize=N (several headers or one list). */
export function parsePrefer(value: string | undefined): Prefer {
  const out: Prefer = { textBody: false, applied: [] };
  if (!value) return out;
  for (const m of value.matchAll(/([\w.-]+)\s*=\s*(?:"([^"]*)"|([^,;\s]+))/g)) {
    const key = m[1].toLowerCase();
    const val = m[2] ?? m[3];
    if (key === 'outlook.timezone') {
      const zone = resolveTimeZone(val);
      if (zone) {
        out.zoneName = val;
        out.zone = zone;
        out.applied.push(`outlook.timezone="${val}"`);
      }
    } else if (key === 'outlook.body-content-type') {
      out.textBody = val.toLowerCase() === 'text';
      out.applied.push(`outlook.body-content-type="${val.toLowerCase()}"`);
    } else if (key === 'odata.maxpagesize') {
      const n = Number(val);
      if (Number.isInteger(n) && n > 0) {
        out.maxPageSize = Math.min(n, MAX_PAGE_SIZE);
        out.applied.push(`odata.maxpagesize=${out.maxPageSize}`);
      }
    }
  }
  return out;
}

/** $top for calendarView and events: 1..1000, default 10 (as Graph). */
export function pageSize(top: string | undefined, prefer: Prefer): number {
  if (top === undefined) return prefer.maxPageSize ?? DEFAULT_PAGE_SIZE;
  const n = Number(top);
  if (!Number.isInteger(n) || n < 1) throw badRequest(`Invalid $top value: ${top}`, 'BadRequest');
  return Math.min(n, MAX_PAGE_SIZE);
}

export function skipValue(skip: string | undefined): number {
  if (skip === undefined) return 0;
  const n = Number(skip);
  if (!Number.isInteger(n) || n < 0) throw badRequest(`Invalid $skip value: ${skip}`, 'BadRequest');
  return n;
}

/** `iCalUId eq '…'` and `transactionId eq '…'` are the filters the emulator understands on the events collection. */
export function parseEventsFilter(filter: string | undefined): ((rec: StoredEvent) => boolean) | undefined {
  if (filter === undefined) return undefined;
  const m = /^\s*(iCalUId|transactionId)\s+eq\s+'((?:[^']|'')*)'\s*$/i.exec(filter);
  if (!m) {
    throw new GraphApiError(
      400,
      'BadRequest',
      `The emulator only understands $filter=iCalUId eq '...' or transactionId eq '...' on events (got: ${filter}).`,
    );
  }
  const value = m[2].replace(/''/g, "'");
  return m[1].toLowerCase() === 'icaluid' ? (rec) => rec.iCalUId === value : (rec) => rec.fields.transactionId === value;
}

/** The events collection: live singles and series masters (not occurrences), in creation order. */
export function listEvents(cal: CalendarState, filter: ((rec: StoredEvent) => boolean) | undefined): StoredEvent[] {
  const out: StoredEvent[] = [];
  for (const id of cal.order) {
    const rec = cal.events.get(id) as StoredEvent;
    if (rec.deleted || rec.masterId !== undefined) continue;
    if (filter && !filter(rec)) continue;
    out.push(rec);
  }
  return out;
}

// ---- delta -----------------------------------------------------------------------------------------

interface SkipCursor {
  t: 'p';
  e: string; // emulator epoch
  c: string; // calendar id
  g: number; // calendar generation
  w: [number, number]; // window
  m: 'f' | 'i'; // full or incremental round
  s: number; // change counter the round is pinned to (the deltaLink's)
  f?: number; // incremental: changes after this value
  i: number;
  j: number;
}

interface DeltaCursor {
  t: 'd';
  e: string;
  c: string;
  g: number;
  w: [number, number];
  s: number;
}

export interface DeltaRequest {
  skipToken?: string;
  deltaToken?: string;
  /** Window of a new round (startDateTime/endDateTime). */
  window?: [number, number];
  maxItems: number;
  /** Changes of events outside the window now are not reported at all (see `hideChangesOutsideWindow`). */
  hideOutside?: boolean;
}

export interface DeltaPage {
  items: object[];
  skipToken?: string;
  deltaToken?: string;
}

export function deltaPage(
  store: EventStore,
  cal: CalendarState,
  req: DeltaRequest,
  render: (item: ViewItem) => object,
): DeltaPage {
  let cursor: SkipCursor;
  if (req.skipToken !== undefined) {
    cursor = decode<SkipCursor>(req.skipToken, 'p', store, cal);
  } else if (req.deltaToken !== undefined) {
    const d = decode<DeltaCursor>(req.deltaToken, 'd', store, cal);
    cursor = { t: 'p', e: d.e, c: d.c, g: d.g, w: d.w, m: 'i', s: cal.seq, f: d.s, i: changeIndexAfter(cal, d.s), j: 0 };
  } else if (req.window) {
    cursor = { t: 'p', e: store.epoch, c: cal.id, g: cal.generation, w: req.window, m: 'f', s: cal.seq, i: 0, j: 0 };
  } else {
    throw badRequest(
      'This request requires a time window specified by the query string parameters StartDateTime and EndDateTime.',
      'ErrorInvalidParameter',
    );
  }
  const { items, i, j, done } =
    cursor.m === 'f'
      ? fullWalk(store, cal, cursor, req.maxItems, render)
      : changeWalk(store, cal, cursor, req.maxItems, render, req.hideOutside ?? false);
  if (!done) return { items, skipToken: encode({ ...cursor, i, j }) };
  return { items, deltaToken: encode({ t: 'd', e: cursor.e, c: cursor.c, g: cursor.g, w: cursor.w, s: cursor.s }) };
}

interface Walk {
  items: object[];
  i: number;
  j: number;
  done: boolean;
}

/** First round: every single and occurrence in the window, in creation order of the records. */
function fullWalk(store: EventStore, cal: CalendarState, c: SkipCursor, max: number, render: (item: ViewItem) => object): Walk {
  const items: object[] = [];
  const [from, to] = c.w;
  let { i, j } = c;
  while (i < cal.order.length && items.length < max) {
    const rec = cal.events.get(cal.order[i]) as StoredEvent;
    if (!rec.deleted && rec.masterId === undefined) {
      if (rec.recurrence) {
        const list = store.expand(cal, rec, from, to);
        while (j < list.length && items.length < max) items.push(render(list[j++]));
        if (j < list.length) break;
      } else if (overlaps(rec.startMs, rec.endMs, from, to)) {
        items.push(render({ id: rec.id, rec, startMs: rec.startMs, endMs: rec.endMs }));
      }
    }
    i++;
    j = 0;
  }
  return { items, i, j, done: i >= cal.order.length };
}

/** Later rounds: each record changed since the token, once, reported as it is now (or @removed). */
function changeWalk(
  store: EventStore,
  cal: CalendarState,
  c: SkipCursor,
  max: number,
  render: (item: ViewItem) => object,
  hideOutside: boolean,
): Walk {
  const items: object[] = [];
  let { i, j } = c;
  while (i < cal.changeSeqs.length && cal.changeSeqs[i] <= c.s && items.length < max) {
    const rec = cal.events.get(cal.changeIds[i]) as StoredEvent;
    // Only a record's latest change is reported; older log entries for it are skipped.
    if (rec.seq === cal.changeSeqs[i]) {
      const list = changesOf(store, cal, rec, c.w, c.f ?? 0, render, hideOutside);
      while (j < list.length && items.length < max) items.push(list[j++]);
      if (j < list.length) break;
    }
    i++;
    j = 0;
  }
  return { items, i, j, done: i >= cal.changeSeqs.length || cal.changeSeqs[i] > c.s };
}

/**
 * What one changed record means for the view: its current singles/occurrences in the window, and @removed for
 * every id it may have shown before (older versions of a series, a single turned series, a deleted series).
 * Like Graph, a record that was never in the window may still be reported @removed; clients ignore unknown ids.
 */
function changesOf(
  store: EventStore,
  cal: CalendarState,
  rec: StoredEvent,
  [from, to]: [number, number],
  fromSeq: number,
  render: (item: ViewItem) => object,
  hideOutside = false,
): object[] {
  if (rec.masterId !== undefined) {
    const live = store.isLive(cal, rec) && overlaps(rec.startMs, rec.endMs, from, to);
    if (!live && hideOutside) return [];
    return [live ? render({ id: rec.id, rec, startMs: rec.startMs, endMs: rec.endMs }) : removedEntry(rec.id)];
  }
  const current: ViewItem[] = [];
  if (!rec.deleted) {
    if (rec.recurrence) current.push(...store.expand(cal, rec, from, to).filter((it) => it.rec === rec));
    else if (overlaps(rec.startMs, rec.endMs, from, to))
      current.push({ id: rec.id, rec, startMs: rec.startMs, endMs: rec.endMs });
  }
  if (current.length === 0 && hideOutside) return [];
  const keep = new Set(current.map((it) => it.id));
  // Exceptions are reported through their own change-log entries.
  if (!rec.deleted) for (const id of rec.exceptionIds ?? []) keep.add(id);
  const removed = new Set<string>();
  for (const id of previousIds(rec, from, to, fromSeq)) if (!keep.has(id)) removed.add(id);
  return [...current.map(render), ...[...removed].map(removedEntry)];
}

function previousIds(rec: StoredEvent, from: number, to: number, fromSeq: number): string[] {
  const history = rec.history;
  if (!history) return [rec.id];
  let first = 0;
  for (let k = 0; k < history.length; k++) if (history[k].seq <= fromSeq) first = k;
  const ids: string[] = [];
  for (const v of history.slice(first)) {
    if (v.spec) for (const o of occurrences(v.spec, { fromMs: from, toMs: to })) ids.push(occurrenceId(rec.id, o.startMs));
    else if (overlaps(v.startMs, v.endMs, from, to)) ids.push(rec.id);
  }
  return ids;
}

function encode(c: SkipCursor | DeltaCursor): string {
  return Buffer.from(JSON.stringify(c)).toString('base64url');
}

function decode<T extends SkipCursor | DeltaCursor>(token: string, type: T['t'], store: EventStore, cal: CalendarState): T {
  let c: T | undefined;
  try {
    c = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as T;
  } catch {
    c = undefined;
  }
  // Unknown, foreign or forged tokens all mean the same thing to a client: start a new round.
  if (!c || c.t !== type || c.e !== store.epoch || c.c !== cal.id || !Array.isArray(c.w) || !(c.s <= cal.seq)) {
    throw deltaExpired('syncStateNotFound');
  }
  if (c.g !== cal.generation) throw deltaExpired(cal.expiry);
  if (c.t === 'p' && !(isIndex(c.i) && isIndex(c.j))) throw deltaExpired('syncStateNotFound');
  return c;
}

function isIndex(n: unknown): boolean {
  return typeof n === 'number' && Number.isInteger(n) && n >= 0;
}
