import { ApiError, badRequest, notFound } from './errors.js';
import { isValidEventId, newEventId, opaqueToken } from './ids.js';
import {
  type Occurrence,
  type Series,
  type Zone,
  occurrences,
  parseRecurrence,
  seriesEndMs,
  zoneForEventTime,
} from './recurrence.js';
import { formatDate, formatWithOffset, instanceStamp, isValidTimeZone, resolveEventTime } from './time.js';
import type { EventInput, EventTime, GoogleEvent } from './types.js';

/**
 * One event as stored. `ev` is an immutable snapshot replaced on every write, so listings can hand out
 * references without copying and serialisation stays the only per-item cost.
 */
export interface StoredEvent {
  readonly id: string;
  ev: GoogleEvent;
  /** Calendar change counter value of the latest write: drives sync tokens. */
  seq: number;
  updatedMs: number;
  startMs: number;
  endMs: number;
  allDay: boolean;
  /** Present on series masters. */
  series?: Series;
  /** End of the last occurrence for masters (Infinity when open-ended), endMs otherwise. */
  lastEndMs: number;
  /** Modified or cancelled instances of a master, by instance id. */
  exceptions?: Map<string, StoredEvent>;
  /** Set on a modified/cancelled instance. */
  master?: StoredEvent;
}

export class CalendarState {
  readonly events = new Map<string, StoredEvent>();
  /** Latest record per iCalUID (singles and masters), so an insert can refuse a live duplicate in O(1). */
  readonly byICalUID = new Map<string, StoredEvent>();
  /** Insertion order; records are never removed (deletes leave tombstones), so an index is a stable cursor. */
  readonly order: StoredEvent[] = [];
  /** Append-only change log as two parallel arrays: seq values ascend, so a sync token is a binary search away. */
  readonly changeSeqs: number[] = [];
  readonly changeRecs: StoredEvent[] = [];
  seq = 0;
  /** Bumped by invalidateSyncTokens: tokens carry the generation they were issued in. */
  generation = 0;
  updatedMs = Date.now();

  constructor(
    readonly id: string,
    readonly ownerEmail: string,
    public summary: string,
    public timeZone: string,
    readonly primary: boolean,
    readonly resourceId: string,
  ) {}

  recordChange(rec: StoredEvent): void {
    rec.seq = ++this.seq;
    this.changeSeqs.push(rec.seq);
    this.changeRecs.push(rec);
    this.updatedMs = Math.max(this.updatedMs, rec.updatedMs);
  }

  /** First change-log index whose seq is greater than `seq`. */
  changeIndexAfter(seq: number): number {
    let lo = 0;
    let hi = this.changeSeqs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.changeSeqs[mid] <= seq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  isSelf(email: string): boolean {
    const e = email.toLowerCase();
    return e === this.ownerEmail.toLowerCase() || e === this.id.toLowerCase();
  }
}

/** Fields a client cannot set: the server owns them. */
const SERVER_FIELDS = new Set([
  'kind',
  'etag',
  'id',
  'iCalUID',
  'created',
  'updated',
  'htmlLink',
  'sequence',
  'recurringEventId',
  'originalStartTime',
  'creator',
]);

/** Fields materialise() validates and copies itself. */
const REBUILT_FIELDS = new Set(['start', 'end', 'attendees', 'extendedProperties', 'organizer']);

const STATUSES = new Set(['confirmed', 'tentative', 'cancelled']);

export interface WriteOptions {
  ifMatch?: string;
  /** PUT semantics: fields not in the body are dropped. */
  replace?: boolean;
}

export interface InsertOptions {
  creatorEmail?: string;
  /** Skip the change callback (bulk seeding). */
  silent?: boolean;
}

type ChangeListener = (calendar: CalendarState) => void;

export class EventStore {
  readonly calendars = new Map<string, CalendarState>();
  /** Changes on every reset so tokens from an earlier life of the emulator are unknown (410), not misread. */
  epoch = opaqueToken('', 6);
  /** Makes every etag unique; public for snapshots only. */
  etagCounter = 0;

  constructor(private readonly onChange: ChangeListener) {}

  reset(): void {
    this.calendars.clear();
    this.epoch = opaqueToken('', 6);
  }

  /** Puts back a snapshot's calendars and counters (see snapshot.ts); tokens issued before it stay valid. */
  replaceState(calendars: CalendarState[], epoch: string, etagCounter: number): void {
    this.calendars.clear();
    for (const cal of calendars) this.calendars.set(cal.id, cal);
    this.epoch = epoch;
    this.etagCounter = etagCounter;
  }

  addCalendar(input: { id: string; ownerEmail: string; summary: string; timeZone: string; primary: boolean }): CalendarState {
    if (this.calendars.has(input.id)) throw new ApiError(409, 'duplicate', `Calendar ${input.id} already exists.`);
    if (!isValidTimeZone(input.timeZone)) throw badRequest(`Invalid time zone: ${input.timeZone}`);
    const cal = new CalendarState(input.id, input.ownerEmail, input.summary, input.timeZone, input.primary, opaqueToken('', 20));
    this.calendars.set(cal.id, cal);
    return cal;
  }

  // ---- reads -------------------------------------------------------------------------------------

  /** A stored event, or a generated instance of a series; cancelled ones included. */
  find(cal: CalendarState, eventId: string): GoogleEvent | undefined {
    const rec = cal.events.get(eventId);
    if (rec) return rec.ev;
    const inst = this.resolveInstance(cal, eventId);
    return inst ? this.instanceEvent(inst.master, inst.occurrence) : undefined;
  }

  /** Instances of a master overlapping [fromMs, toMs), modified ones substituted, in start order. */
  expandSeries(
    master: StoredEvent,
    window: { fromMs?: number; toMs?: number },
    includeCancelled: boolean,
  ): Array<{ ev: GoogleEvent; startMs: number; endMs: number; updatedMs: number; cancelled: boolean }> {
    const out: Array<{ ev: GoogleEvent; startMs: number; endMs: number; updatedMs: number; cancelled: boolean }> = [];
    const series = master.series;
    if (!series) return out;
    const masterCancelled = master.ev.status === 'cancelled';
    const used = master.exceptions?.size ? new Set<string>() : undefined;
    for (const occ of occurrences(series, window)) {
      const id = `${master.id}_${instanceStamp(occ.startMs, series.allDay)}`;
      const exc = master.exceptions?.get(id);
      if (exc) {
        used?.add(id);
        const cancelled = masterCancelled || exc.ev.status === 'cancelled';
        if (cancelled && !includeCancelled) continue;
        if (!cancelled && !overlaps(exc.startMs, exc.endMs, window)) continue;
        out.push({ ev: exc.ev, startMs: exc.startMs, endMs: exc.endMs, updatedMs: exc.updatedMs, cancelled });
        continue;
      }
      if (masterCancelled && !includeCancelled) continue;
      out.push({
        ev: this.instanceEvent(master, occ),
        startMs: occ.startMs,
        endMs: occ.endMs,
        updatedMs: master.updatedMs,
        cancelled: masterCancelled,
      });
    }
    if (master.exceptions && used) {
      let added = false;
      for (const [id, exc] of master.exceptions) {
        if (used.has(id) || exc.ev.status === 'cancelled' || masterCancelled) continue;
        if (!overlaps(exc.startMs, exc.endMs, window)) continue;
        out.push({ ev: exc.ev, startMs: exc.startMs, endMs: exc.endMs, updatedMs: exc.updatedMs, cancelled: false });
        added = true;
      }
      if (added) out.sort((a, b) => a.startMs - b.startMs);
    }
    return out;
  }

  instanceEvent(master: StoredEvent, occ: Occurrence): GoogleEvent {
    const series = master.series as Series;
    const start = formatInstanceTime(occ.startMs, series, master.ev.start);
    const inst: GoogleEvent = Object.assign({}, master.ev, {
      id: `${master.id}_${instanceStamp(occ.startMs, series.allDay)}`,
      start,
      end: formatInstanceTime(occ.endMs, series, master.ev.end),
      recurringEventId: master.id,
      originalStartTime: { ...start },
    });
    delete inst.recurrence;
    return inst;
  }

  private resolveInstance(cal: CalendarState, eventId: string): { master: StoredEvent; occurrence: Occurrence } | undefined {
    const cut = eventId.lastIndexOf('_');
    if (cut <= 0) return undefined;
    const master = cal.events.get(eventId.slice(0, cut));
    if (!master?.series) return undefined;
    const stamp = eventId.slice(cut + 1);
    const m = /^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})Z)?$/.exec(stamp);
    if (!m || (m[4] === undefined) !== master.series.allDay) return undefined;
    const ms = Date.UTC(+m[1], +m[2] - 1, +m[3], +(m[4] ?? 0), +(m[5] ?? 0), +(m[6] ?? 0));
    for (const occ of occurrences(master.series, { toMs: ms + 1 })) {
      if (occ.startMs === ms) return { master, occurrence: occ };
    }
    return undefined;
  }

  // ---- writes ------------------------------------------------------------------------------------

  insert(cal: CalendarState, input: EventInput | Record<string, unknown>, opts: InsertOptions = {}): StoredEvent {
    const body = input as Record<string, unknown>;
    let id: string;
    if (body.id !== undefined && body.id !== null && body.id !== '') {
      if (typeof body.id !== 'string' || !isValidEventId(body.id)) throw badRequest('Invalid resource id value.');
      id = body.id;
      if (cal.events.has(id)) throw new ApiError(409, 'duplicate', 'The requested identifier already exists.');
    } else {
      do id = newEventId();
      while (cal.events.has(id));
    }
    const iCalUID = typeof body.iCalUID === 'string' && body.iCalUID ? body.iCalUID : `${id}@google.com`;
    const sameUid = cal.byICalUID.get(iCalUID);
    if (sameUid && sameUid.ev.status !== 'cancelled' && sameUid.ev.iCalUID === iCalUID) {
      throw new ApiError(409, 'duplicate', 'The requested identifier already exists.');
    }
    const now = Date.now();
    const created = new Date(now).toISOString();
    const fields = this.writableFields(body);
    const creator = opts.creatorEmail ?? cal.ownerEmail;
    const rec = this.materialise(cal, id, fields, {
      iCalUID,
      created,
      updatedMs: now,
      updated: created,
      sequence: typeof body.sequence === 'number' && Number.isInteger(body.sequence) ? body.sequence : 0,
      creator: { email: creator },
    });
    cal.events.set(id, rec);
    cal.byICalUID.set(iCalUID, rec);
    cal.order.push(rec);
    cal.recordChange(rec);
    if (!opts.silent) this.onChange(cal);
    return rec;
  }

  update(cal: CalendarState, eventId: string, body: Record<string, unknown>, opts: WriteOptions = {}): GoogleEvent {
    const target = this.writeTarget(cal, eventId, opts.ifMatch);
    const rec = target.rec;
    const prev = rec.ev;
    let fields: Record<string, unknown>;
    if (opts.replace) {
      fields = this.writableFields(body);
      if (fields.organizer === undefined && prev.organizer) fields.organizer = prev.organizer;
      if (fields.status === undefined) fields.status = 'confirmed';
    } else {
      fields = mergePatch(prev, this.writableFields(body, true));
    }
    if (rec.master && fields.recurrence !== undefined)
      throw badRequest('Cannot set recurrence on an instance of a recurring event.');
    const next = this.materialise(cal, rec.id, fields, {
      iCalUID: prev.iCalUID,
      created: prev.created,
      updatedMs: Math.max(Date.now(), rec.updatedMs + 1),
      sequence: prev.sequence,
      creator: prev.creator ?? { email: cal.ownerEmail },
      recurringEventId: prev.recurringEventId,
      originalStartTime: prev.originalStartTime,
    });
    // Google bumps sequence on changes attendees must be told about; the time is the one that matters here.
    if (
      timeKey(next.ev.start) !== timeKey(prev.start) ||
      timeKey(next.ev.end) !== timeKey(prev.end) ||
      JSON.stringify(next.ev.recurrence ?? null) !== JSON.stringify(prev.recurrence ?? null)
    ) {
      next.ev.sequence = prev.sequence + 1;
    }
    if (target.isNew) this.registerException(cal, rec);
    this.replaceRecord(cal, rec, next);
    if (rec.series && next.ev.status === 'cancelled') this.cancelExceptions(cal, rec);
    this.onChange(cal);
    return rec.ev;
  }

  remove(cal: CalendarState, eventId: string, opts: WriteOptions = {}): void {
    const { rec, isNew } = this.writeTarget(cal, eventId, opts.ifMatch, true);
    if (isNew) this.registerException(cal, rec);
    this.tombstone(cal, rec);
    if (rec.series) this.cancelExceptions(cal, rec);
    this.onChange(cal);
  }

  move(source: CalendarState, eventId: string, dest: CalendarState): GoogleEvent {
    const rec = source.events.get(eventId);
    if (rec?.master || (!rec && this.resolveInstance(source, eventId))) {
      throw badRequest('Cannot move an instance of a recurring event.', 'cannotChangeOrganizerOfInstance');
    }
    if (!rec || rec.ev.status === 'cancelled') throw notFound();
    if (dest === source) return rec.ev;
    const moving = [rec, ...(rec.exceptions?.values() ?? [])];
    for (const r of moving) {
      const existing = dest.events.get(r.id);
      if (existing && existing.ev.status !== 'cancelled')
        throw new ApiError(409, 'duplicate', 'The requested identifier already exists.');
    }
    const now = Date.now();
    const placed: StoredEvent[] = [];
    for (const r of moving) {
      const prev = r.ev;
      // Moving changes the organizer to the destination calendar, unless someone else organises it.
      const organizer = !prev.organizer || source.isSelf(prev.organizer.email) ? organizerFor(dest) : prev.organizer;
      const moved = this.materialise(dest, r.id, this.writableFields({ ...prev, organizer }), {
        iCalUID: prev.iCalUID,
        created: prev.created,
        updatedMs: Math.max(now, r.updatedMs + 1),
        sequence: prev.sequence,
        creator: prev.creator ?? { email: source.ownerEmail },
        recurringEventId: prev.recurringEventId,
        originalStartTime: prev.originalStartTime,
      });
      const existing = dest.events.get(r.id);
      if (existing) {
        // Moving back to where it came from revives the tombstone, keeping one record per id.
        this.replaceRecord(dest, existing, moved);
        placed.push(existing);
      } else {
        dest.events.set(r.id, moved);
        dest.order.push(moved);
        dest.recordChange(moved);
        placed.push(moved);
      }
      if (prev.status !== 'cancelled') this.tombstone(source, r);
    }
    const [master, ...exceptions] = placed;
    dest.byICalUID.set(master.ev.iCalUID, master);
    if (exceptions.length) {
      master.exceptions = new Map();
      for (const exc of exceptions) {
        exc.master = master;
        master.exceptions.set(exc.id, exc);
      }
    }
    this.onChange(source);
    this.onChange(dest);
    return master.ev;
  }

  /** The record a write applies to; an untouched instance of a series gets a (not yet registered) exception. */
  private writeTarget(
    cal: CalendarState,
    eventId: string,
    ifMatch: string | undefined,
    refuseCancelled = false,
  ): { rec: StoredEvent; isNew: boolean } {
    const rec = cal.events.get(eventId);
    if (rec) {
      if (refuseCancelled && (rec.ev.status === 'cancelled' || rec.master?.ev.status === 'cancelled')) throw deleted();
      checkIfMatch(ifMatch, rec.ev.etag);
      return { rec, isNew: false };
    }
    const inst = this.resolveInstance(cal, eventId);
    if (!inst) throw notFound();
    if (inst.master.ev.status === 'cancelled') throw deleted();
    checkIfMatch(ifMatch, inst.master.ev.etag);
    const ev = this.instanceEvent(inst.master, inst.occurrence);
    return {
      rec: {
        id: ev.id,
        ev,
        seq: 0,
        updatedMs: inst.master.updatedMs,
        startMs: inst.occurrence.startMs,
        endMs: inst.occurrence.endMs,
        allDay: inst.master.allDay,
        lastEndMs: inst.occurrence.endMs,
        master: inst.master,
      },
      isNew: true,
    };
  }

  private registerException(cal: CalendarState, rec: StoredEvent): void {
    const master = rec.master as StoredEvent;
    if (!master.exceptions) master.exceptions = new Map();
    master.exceptions.set(rec.id, rec);
    cal.events.set(rec.id, rec);
    cal.order.push(rec);
  }

  // ---- internals ---------------------------------------------------------------------------------

  private nextEtag(updatedMs: number): string {
    return `"${updatedMs}${String(++this.etagCounter).padStart(6, '0')}"`;
  }

  /**
   * Client-settable fields of a body. Values are copied, so callers may keep mutating what they passed; the
   * fields materialise() rebuilds anyway are left to it (this is on the 10,000-event seeding path).
   */
  private writableFields(body: Record<string, unknown>, keepNulls = false): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(body)) {
      if (SERVER_FIELDS.has(key)) continue;
      const v = body[key];
      if (v === undefined || (v === null && !keepNulls)) continue;
      if (v === null || typeof v !== 'object' || REBUILT_FIELDS.has(key)) out[key] = v;
      else if (key === 'recurrence' && Array.isArray(v)) out[key] = v.slice();
      else out[key] = structuredClone(v);
    }
    return out;
  }

  /** Validates fields and builds a fresh record (not yet registered). */
  private materialise(
    cal: CalendarState,
    id: string,
    fields: Record<string, unknown>,
    meta: {
      iCalUID: string;
      created: string;
      updatedMs: number;
      /** updatedMs as text when the caller has it already. */
      updated?: string;
      sequence: number;
      creator: { email: string };
      recurringEventId?: string;
      originalStartTime?: EventTime;
    },
  ): StoredEvent {
    const start = checkTime(fields.start, 'start');
    const end = checkTime(fields.end, 'end');
    if (!!start.date !== !!end.date) throw badRequest('Start and end times must either both be date or both be dateTime.');
    const s = resolveEventTime(start, cal.timeZone, 'start');
    const e = resolveEventTime(end, cal.timeZone, 'end');
    if (e.ms < s.ms || (s.allDay && e.ms === s.ms))
      throw new ApiError(400, 'timeRangeEmpty', 'The specified time range is empty.');
    const status = fields.status ?? 'confirmed';
    if (typeof status !== 'string' || !STATUSES.has(status)) throw badRequest(`Invalid value for status: ${String(status)}`);
    if (fields.transparency !== undefined && fields.transparency !== 'opaque' && fields.transparency !== 'transparent') {
      throw badRequest(`Invalid value for transparency: ${String(fields.transparency)}`);
    }
    for (const key of ['summary', 'description', 'location'] as const) {
      if (fields[key] !== undefined && typeof fields[key] !== 'string') throw badRequest(`Invalid value for ${key}.`);
    }
    let series: Series | undefined;
    if (fields.recurrence !== undefined) {
      if (!Array.isArray(fields.recurrence) || !fields.recurrence.every((l) => typeof l === 'string')) {
        throw badRequest('Invalid value for recurrence.');
      }
      if (fields.recurrence.length === 0) delete fields.recurrence;
      else {
        if (meta.recurringEventId) throw badRequest('Cannot set recurrence on an instance of a recurring event.');
        const zone: Zone = zoneForEventTime(start, cal.timeZone);
        const rule = parseRecurrence(fields.recurrence as string[], zone, s.allDay);
        series = { rule, startMs: s.ms, durationMs: e.ms - s.ms, allDay: s.allDay, zone };
      }
    }
    // Built key by key: a spread followed by literal keys was the slowest line of bulk seeding.
    const ev = {
      kind: 'calendar#event',
      etag: this.nextEtag(meta.updatedMs),
      id,
      status,
      htmlLink: `https://www.google.com/calendar/event?eid=${Buffer.from(`${id} ${cal.id}`).toString('base64url')}`,
      created: meta.created,
      updated: meta.updated ?? new Date(meta.updatedMs).toISOString(),
      creator: meta.creator,
      organizer: normaliseOrganizer(fields.organizer, cal),
      start,
      end,
      iCalUID: meta.iCalUID,
      sequence: meta.sequence,
    } as GoogleEvent;
    const target = ev as unknown as Record<string, unknown>;
    for (const key of Object.keys(fields)) {
      if (!(key in target) && key !== 'attendees' && key !== 'extendedProperties') target[key] = fields[key];
    }
    if (fields.attendees !== undefined) ev.attendees = normaliseAttendees(fields.attendees, cal);
    if (fields.extendedProperties !== undefined) ev.extendedProperties = normaliseExtended(fields.extendedProperties);
    if (meta.recurringEventId) {
      ev.recurringEventId = meta.recurringEventId;
      ev.originalStartTime = meta.originalStartTime;
    }
    return {
      id,
      ev,
      seq: 0,
      updatedMs: meta.updatedMs,
      startMs: s.ms,
      endMs: e.ms,
      allDay: s.allDay,
      series,
      lastEndMs: series ? seriesEndMs(series) : e.ms,
    };
  }

  /** Copies a freshly built record's state into the registered one, keeping identity (order/log refs). */
  private replaceRecord(cal: CalendarState, rec: StoredEvent, next: StoredEvent): void {
    rec.ev = next.ev;
    rec.updatedMs = next.updatedMs;
    rec.startMs = next.startMs;
    rec.endMs = next.endMs;
    rec.allDay = next.allDay;
    rec.series = next.series;
    rec.lastEndMs = next.lastEndMs;
    if (rec.series && !rec.exceptions) rec.exceptions = new Map();
    cal.recordChange(rec);
  }

  private tombstone(cal: CalendarState, rec: StoredEvent): void {
    const updatedMs = Math.max(Date.now(), rec.updatedMs + 1);
    rec.ev = { ...rec.ev, status: 'cancelled', etag: this.nextEtag(updatedMs), updated: new Date(updatedMs).toISOString() };
    rec.updatedMs = updatedMs;
    cal.recordChange(rec);
  }

  private cancelExceptions(cal: CalendarState, master: StoredEvent): void {
    for (const exc of master.exceptions?.values() ?? []) {
      if (exc.ev.status !== 'cancelled') this.tombstone(cal, exc);
    }
  }
}

function overlaps(startMs: number, endMs: number, w: { fromMs?: number; toMs?: number }): boolean {
  // Zero-length events count when they sit inside the window, as Google lists them.
  if (w.fromMs !== undefined && endMs <= w.fromMs && !(startMs === endMs && startMs >= w.fromMs)) return false;
  if (w.toMs !== undefined && startMs >= w.toMs) return false;
  return true;
}

export { overlaps as overlapsWindow };

function formatInstanceTime(ms: number, series: Series, original: EventTime): EventTime {
  if (series.allDay) return { date: formatDate(ms) };
  const t: EventTime = { dateTime: formatWithOffset(ms, series.zone.offsetAt(ms)) };
  if (original.timeZone) t.timeZone = original.timeZone;
  return t;
}

function timeKey(t: EventTime): string {
  return `${t.date ?? ''}|${t.dateTime ?? ''}|${t.timeZone ?? ''}`;
}

function checkIfMatch(ifMatch: string | undefined, etag: string): void {
  if (ifMatch === undefined || ifMatch === '*') return;
  const wanted = ifMatch.split(',').map((s) => s.trim().replace(/^W\//, ''));
  if (!wanted.includes(etag)) throw new ApiError(412, 'conditionNotMet', 'Precondition Failed');
}

const deleted = (): ApiError => new ApiError(410, 'deleted', 'Resource has been deleted');

function checkTime(value: unknown, field: string): EventTime {
  if (value === undefined || value === null) throw new ApiError(400, 'required', `Missing ${field} time.`);
  if (typeof value !== 'object' || Array.isArray(value)) throw badRequest(`Invalid ${field} time.`);
  const v = value as Record<string, unknown>;
  const out: EventTime = {};
  for (const key of ['dateTime', 'date', 'timeZone'] as const) {
    const x = v[key];
    if (x === undefined || x === null) continue;
    if (typeof x !== 'string') throw badRequest(`Invalid ${field} time.`);
    out[key] = x;
  }
  if (out.date && out.dateTime) throw badRequest(`Invalid ${field} time: both date and dateTime set.`);
  if (!out.date && !out.dateTime) throw new ApiError(400, 'required', `Missing ${field} time.`);
  if (out.timeZone && !isValidTimeZone(out.timeZone)) throw badRequest(`Invalid time zone definition for ${field} time.`);
  return out;
}

function organizerFor(cal: CalendarState): NonNullable<GoogleEvent['organizer']> {
  return cal.primary ? { email: cal.id, self: true } : { email: cal.id, displayName: cal.summary, self: true };
}

function normaliseOrganizer(value: unknown, cal: CalendarState): GoogleEvent['organizer'] {
  if (value === undefined || value === null) return organizerFor(cal);
  if (typeof value !== 'object' || typeof (value as { email?: unknown }).email !== 'string')
    throw badRequest('Invalid organizer.');
  const o = { ...(value as { email: string; displayName?: string; self?: boolean }) };
  if (cal.isSelf(o.email)) o.self = true;
  else delete o.self;
  return o;
}

function normaliseAttendees(value: unknown, cal: CalendarState): GoogleEvent['attendees'] {
  if (!Array.isArray(value)) throw badRequest('Invalid value for attendees.');
  return value.map((a) => {
    if (!a || typeof a !== 'object' || typeof (a as { email?: unknown }).email !== 'string') {
      throw new ApiError(400, 'required', 'Missing attendee email.');
    }
    const att = { responseStatus: 'needsAction', ...(a as { email: string; self?: boolean }) };
    if (cal.isSelf(att.email)) att.self = true;
    else delete att.self;
    return att;
  });
}

function normaliseExtended(value: unknown): GoogleEvent['extendedProperties'] {
  if (!value || typeof value !== 'object') throw badRequest('Invalid value for extendedProperties.');
  const out: NonNullable<GoogleEvent['extendedProperties']> = {};
  for (const scope of ['private', 'shared'] as const) {
    const map = (value as Record<string, unknown>)[scope];
    if (map === undefined || map === null) continue;
    if (typeof map !== 'object') throw badRequest(`Invalid value for extendedProperties.${scope}.`);
    const clean: Record<string, string> = {};
    for (const [k, v] of Object.entries(map as Record<string, unknown>)) {
      if (v === null || v === undefined) continue;
      clean[k] = String(v);
    }
    out[scope] = clean;
  }
  return out;
}

/**
 * PATCH: top-level fields replace (arrays whole), null clears a field, and extendedProperties merge key by
 * key like Google's patch semantics for nested objects (null clears one key).
 */
function mergePatch(prev: GoogleEvent, patch: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(prev)) if (!SERVER_FIELDS.has(k)) out[k] = v;
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) {
      delete out[k];
    } else if (k === 'extendedProperties' && typeof v === 'object') {
      const base = (prev.extendedProperties ?? {}) as Record<string, Record<string, string> | undefined>;
      const merged: Record<string, Record<string, string | null>> = {};
      for (const scope of ['private', 'shared']) {
        const add = (v as Record<string, Record<string, string | null> | null | undefined>)[scope];
        if (add === null) continue;
        const m: Record<string, string | null> = { ...(base[scope] ?? {}) };
        for (const [pk, pv] of Object.entries(add ?? {})) {
          if (pv === null) delete m[pk];
          else m[pk] = pv;
        }
        if (add !== undefined || base[scope]) merged[scope] = m;
      }
      out[k] = merged;
    } else {
      out[k] = v;
    }
  }
  return out;
}
