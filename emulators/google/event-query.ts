import { ApiError, badRequest, fullSyncRequired } from './errors.js';
import type { CalendarState, EventStore, StoredEvent } from './event-store.js';
import { overlapsWindow } from './event-store.js';
import { parseInstant } from './time.js';
import type { GoogleEvent } from './types.js';

/**
 * events.list: full listings, incremental sync and paging.
 *
 * Cursors are self-describing (base64url JSON) so that a page costs O(page): a full listing walks the
 * calendar's insertion-ordered records from an index, an incremental one walks the change log from an
 * index. A full sync pins the change counter at its first page; its nextSyncToken carries that value, so
 * anything changed while the pages were being fetched shows up again in the next incremental sync.
 */

export interface ListQuery {
  timeMin?: number;
  timeMax?: number;
  singleEvents: boolean;
  showDeleted: boolean;
  maxResults: number;
  pageToken?: string;
  syncToken?: string;
  iCalUID?: string;
  orderBy?: 'startTime' | 'updated';
  updatedMin?: number;
  q?: string;
  privateProps: Array<[string, string]>;
  sharedProps: Array<[string, string]>;
}

export interface ListPage {
  items: object[];
  nextPageToken?: string;
  nextSyncToken?: string;
}

const MAX_RESULTS_CAP = 2500;
const DEFAULT_MAX_RESULTS = 250;
const SYNC_FORBIDDEN = [
  'timeMin',
  'timeMax',
  'orderBy',
  'q',
  'iCalUID',
  'updatedMin',
  'privateExtendedProperty',
  'sharedExtendedProperty',
];

type QueryValues = Record<string, string | string[]>;

function one(query: QueryValues, key: string): string | undefined {
  const v = query[key];
  return Array.isArray(v) ? v[v.length - 1] : v;
}

function many(query: QueryValues, key: string): string[] {
  const v = query[key];
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

function bool(query: QueryValues, key: string): boolean | undefined {
  const v = one(query, key);
  if (v === undefined) return undefined;
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw badRequest(`Invalid boolean value for ${key}: ${v}`);
}

function props(values: string[], name: string): Array<[string, string]> {
  return values.map((p) => {
    const eq = p.indexOf('=');
    if (eq <= 0) throw badRequest(`Invalid ${name}: ${p}`);
    return [p.slice(0, eq), p.slice(eq + 1)];
  });
}

export function parseListQuery(query: QueryValues): ListQuery {
  const syncToken = one(query, 'syncToken');
  if (syncToken !== undefined) {
    for (const key of SYNC_FORBIDDEN) {
      if (query[key] !== undefined) throw badRequest(`The request parameter ${key} is not compatible with syncToken.`);
    }
    if (one(query, 'showDeleted') === 'false') throw badRequest('showDeleted=false is not compatible with syncToken.');
  }
  const singleEvents = bool(query, 'singleEvents') ?? false;
  const orderBy = one(query, 'orderBy');
  if (orderBy !== undefined && orderBy !== 'startTime' && orderBy !== 'updated')
    throw badRequest(`Invalid value for orderBy: ${orderBy}`);
  if (orderBy === 'startTime' && !singleEvents) {
    throw badRequest('The requested ordering is not available for the particular query.');
  }
  let maxResults = DEFAULT_MAX_RESULTS;
  const mr = one(query, 'maxResults');
  if (mr !== undefined) {
    maxResults = Number(mr);
    if (!Number.isInteger(maxResults) || maxResults < 1) throw badRequest(`Invalid value for maxResults: ${mr}`);
    maxResults = Math.min(maxResults, MAX_RESULTS_CAP);
  }
  const tMin = one(query, 'timeMin');
  const tMax = one(query, 'timeMax');
  const uMin = one(query, 'updatedMin');
  const q: ListQuery = {
    timeMin: tMin === undefined ? undefined : parseInstant(tMin, 'timeMin'),
    timeMax: tMax === undefined ? undefined : parseInstant(tMax, 'timeMax'),
    singleEvents,
    showDeleted: bool(query, 'showDeleted') ?? false,
    maxResults,
    pageToken: one(query, 'pageToken'),
    syncToken,
    iCalUID: one(query, 'iCalUID'),
    orderBy: orderBy as ListQuery['orderBy'],
    updatedMin: uMin === undefined ? undefined : parseInstant(uMin, 'updatedMin'),
    q: one(query, 'q')?.toLowerCase(),
    privateProps: props(many(query, 'privateExtendedProperty'), 'privateExtendedProperty'),
    sharedProps: props(many(query, 'sharedExtendedProperty'), 'sharedExtendedProperty'),
  };
  if (q.timeMin !== undefined && q.timeMax !== undefined && q.timeMax <= q.timeMin) {
    throw new ApiError(400, 'timeRangeEmpty', 'The specified time range is empty.');
  }
  return q;
}

// ---- cursors -------------------------------------------------------------------------------------

interface SyncCursor {
  t: 's';
  e: string; // emulator epoch
  c: string; // calendar id
  g: number; // calendar generation
  s: number; // change counter covered
}

interface PageCursor {
  t: 'p';
  e: string;
  c: string;
  g: number;
  /** full walk, incremental walk, or a sorted snapshot */
  m: 'f' | 'i' | 'o';
  /** change counter the listing is pinned to (nextSyncToken value) */
  s: number;
  /** incremental: changes after this value */
  f?: number;
  i: number;
  j: number;
}

function encode(c: SyncCursor | PageCursor): string {
  return Buffer.from(JSON.stringify(c)).toString('base64url');
}

function decode<T extends SyncCursor | PageCursor>(token: string, type: T['t'], store: EventStore, cal: CalendarState): T {
  let c: T;
  try {
    c = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as T;
  } catch {
    throw fullSyncRequired();
  }
  // Unknown, foreign, invalidated or forged tokens all mean the same thing to a client: start over.
  if (!c || c.t !== type || c.e !== store.epoch || c.c !== cal.id || c.g !== cal.generation || !(c.s <= cal.seq)) {
    throw fullSyncRequired();
  }
  if (c.t === 'p' && !(isIndex(c.i) && isIndex(c.j) && (c.f === undefined || isIndex(c.f)))) throw fullSyncRequired();
  return c;
}

function isIndex(n: unknown): boolean {
  return typeof n === 'number' && Number.isInteger(n) && n >= 0;
}

// ---- listing -------------------------------------------------------------------------------------

type Filter = (rec: StoredEvent, ev: GoogleEvent, updatedMs: number) => boolean;

export function listEvents(store: EventStore, cal: CalendarState, q: ListQuery): ListPage {
  if (q.pageToken !== undefined) {
    const cursor = decode<PageCursor>(q.pageToken, 'p', store, cal);
    if (cursor.m === 'i') return incrementalPage(store, cal, q, cursor);
    if (cursor.m === 'o') return sortedPage(store, cal, q, cursor);
    return fullPage(store, cal, q, cursor);
  }
  const base = { t: 'p' as const, e: store.epoch, c: cal.id, g: cal.generation, s: cal.seq, i: 0, j: 0 };
  if (q.syncToken !== undefined) {
    const sync = decode<SyncCursor>(q.syncToken, 's', store, cal);
    return incrementalPage(store, cal, q, { ...base, m: 'i', f: sync.s, i: cal.changeIndexAfter(sync.s) });
  }
  if (q.orderBy) return sortedPage(store, cal, q, { ...base, m: 'o' });
  return fullPage(store, cal, q, { ...base, m: 'f' });
}

function finish(store: EventStore, cal: CalendarState, items: object[], cursor: PageCursor, done: boolean): ListPage {
  if (!done) return { items, nextPageToken: encode(cursor) };
  return { items, nextSyncToken: encode({ t: 's', e: store.epoch, c: cal.id, g: cal.generation, s: cursor.s }) };
}

function fullPage(store: EventStore, cal: CalendarState, q: ListQuery, cursor: PageCursor): ListPage {
  const items: object[] = [];
  const filter = buildFilter(q);
  const includeCancelled = q.showDeleted || q.updatedMin !== undefined;
  const window = { fromMs: q.timeMin, toMs: q.timeMax };
  const order = cal.order;
  let i = cursor.i;
  let j = cursor.j;
  while (i < order.length && items.length < q.maxResults) {
    const rec = order[i];
    if (q.singleEvents && rec.series) {
      const expanded = seriesItems(store, rec, q, filter, includeCancelled);
      while (j < expanded.length && items.length < q.maxResults) items.push(expanded[j++]);
      if (j < expanded.length) break;
    } else if (!(q.singleEvents && rec.master)) {
      // Modified instances are listed through their master when expanding, on their own otherwise.
      const cancelled = isCancelled(rec);
      if (
        (!cancelled || includeCancelled) &&
        overlapsWindow(rec.startMs, rec.lastEndMs, window) &&
        (filter === undefined || filter(rec, rec.ev, rec.updatedMs))
      ) {
        items.push(cancelled ? minimal(rec.ev) : rec.ev);
      }
    }
    i++;
    j = 0;
  }
  return finish(store, cal, items, { ...cursor, i, j }, i >= order.length);
}

function seriesItems(
  store: EventStore,
  master: StoredEvent,
  q: ListQuery,
  filter: Filter | undefined,
  includeCancelled: boolean,
): object[] {
  if (!overlapsWindow(master.startMs, master.lastEndMs, { fromMs: q.timeMin, toMs: q.timeMax })) return [];
  const out: object[] = [];
  for (const inst of store.expandSeries(master, { fromMs: q.timeMin, toMs: q.timeMax }, includeCancelled)) {
    if (filter && !filter(master, inst.ev, inst.updatedMs)) continue;
    out.push(inst.cancelled ? minimal(inst.ev) : inst.ev);
  }
  return out;
}

/** orderBy needs the whole result sorted; rebuilt per page (O(n log n)), which only the benchmark would notice. */
function sortedPage(store: EventStore, cal: CalendarState, q: ListQuery, cursor: PageCursor): ListPage {
  const all: Array<{ item: object; key: number; id: string }> = [];
  const filter = buildFilter(q);
  const includeCancelled = q.showDeleted || q.updatedMin !== undefined;
  const window = { fromMs: q.timeMin, toMs: q.timeMax };
  const byStart = q.orderBy === 'startTime';
  for (const rec of cal.order) {
    if (q.singleEvents && rec.series) {
      if (!overlapsWindow(rec.startMs, rec.lastEndMs, window)) continue;
      for (const inst of store.expandSeries(rec, window, includeCancelled)) {
        if (filter && !filter(rec, inst.ev, inst.updatedMs)) continue;
        all.push({
          item: inst.cancelled ? minimal(inst.ev) : inst.ev,
          key: byStart ? inst.startMs : inst.updatedMs,
          id: inst.ev.id,
        });
      }
    } else if (!(q.singleEvents && rec.master)) {
      const cancelled = isCancelled(rec);
      if ((cancelled && !includeCancelled) || !overlapsWindow(rec.startMs, rec.lastEndMs, window)) continue;
      if (filter && !filter(rec, rec.ev, rec.updatedMs)) continue;
      all.push({ item: cancelled ? minimal(rec.ev) : rec.ev, key: byStart ? rec.startMs : rec.updatedMs, id: rec.id });
    }
  }
  all.sort((a, b) => a.key - b.key || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const end = Math.min(all.length, cursor.i + q.maxResults);
  const items = all.slice(cursor.i, end).map((x) => x.item);
  return finish(store, cal, items, { ...cursor, i: end }, end >= all.length);
}

function incrementalPage(store: EventStore, cal: CalendarState, q: ListQuery, cursor: PageCursor): ListPage {
  const items: object[] = [];
  const seqs = cal.changeSeqs;
  const recs = cal.changeRecs;
  let i = cursor.i;
  let j = cursor.j;
  while (i < seqs.length && seqs[i] <= cursor.s && items.length < q.maxResults) {
    const rec = recs[i];
    // Only a record's latest change is reported; older log entries for it are skipped.
    if (rec.seq === seqs[i]) {
      if (q.singleEvents && rec.series) {
        const expanded = changedSeriesItems(store, rec);
        while (j < expanded.length && items.length < q.maxResults) items.push(expanded[j++]);
        if (j < expanded.length) break;
      } else {
        items.push(isCancelled(rec) ? minimal(rec.ev) : rec.ev);
      }
    }
    i++;
    j = 0;
  }
  const done = i >= seqs.length || seqs[i] > cursor.s;
  return finish(store, cal, items, { ...cursor, i, j }, done);
}

/**
 * A changed series under singleEvents: every instance is reported (Google does the same). A cancelled series
 * reports its master id too, so a client that cached only instances and one that cached the master both
 * learn about it.
 */
function changedSeriesItems(store: EventStore, master: StoredEvent): object[] {
  const out: object[] = [];
  const cancelled = master.ev.status === 'cancelled';
  if (cancelled) out.push(minimal(master.ev));
  for (const inst of store.expandSeries(master, {}, true)) out.push(inst.cancelled ? minimal(inst.ev) : inst.ev);
  return out;
}

function isCancelled(rec: StoredEvent): boolean {
  return rec.ev.status === 'cancelled' || (rec.master !== undefined && rec.master.ev.status === 'cancelled');
}

/** What Google returns for deleted events in a listing: just enough to identify them. */
export function minimal(ev: GoogleEvent): object {
  const out: Record<string, unknown> = { kind: 'calendar#event', etag: ev.etag, id: ev.id, status: 'cancelled' };
  if (ev.recurringEventId) {
    out.recurringEventId = ev.recurringEventId;
    out.originalStartTime = ev.originalStartTime;
  }
  return out;
}

function buildFilter(q: ListQuery): Filter | undefined {
  const checks: Filter[] = [];
  if (q.iCalUID !== undefined) {
    const uid = q.iCalUID;
    checks.push((_r, ev) => ev.iCalUID === uid);
  }
  if (q.updatedMin !== undefined) {
    const min = q.updatedMin;
    checks.push((_r, _ev, updatedMs) => updatedMs >= min);
  }
  if (q.q) {
    const needle = q.q;
    checks.push((_r, ev) =>
      [ev.summary, ev.description, ev.location, ...(ev.attendees ?? []).map((a) => a.email)].some(
        (s) => s !== undefined && s.toLowerCase().includes(needle),
      ),
    );
  }
  for (const [k, v] of q.privateProps) checks.push((_r, ev) => ev.extendedProperties?.private?.[k] === v);
  for (const [k, v] of q.sharedProps) checks.push((_r, ev) => ev.extendedProperties?.shared?.[k] === v);
  if (checks.length === 0) return undefined;
  return (rec, ev, updatedMs) => checks.every((c) => c(rec, ev, updatedMs));
}
