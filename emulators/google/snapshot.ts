import { EmulatorError } from './errors.js';
import { CalendarState, type StoredEvent } from './event-store.js';
import { type RecurrenceRule, type Series, zoneFromSpec } from './recurrence.js';
import type { GoogleEvent } from './types.js';

/**
 * The emulator's whole state as plain JSON: what `snapshot()` returns, `restore()` takes and a `stateFile`
 * holds. Records refer to each other by their index in the calendar's `events` (its insertion order), so
 * series exceptions, the change log that sync tokens walk and the iCalUID index come back as they were.
 * Sync and page tokens stay valid because the store epoch, every calendar's change counter and
 * generation, and the change log itself are kept. Not kept: fault switches, held pushes, the call and
 * push logs, and expired access tokens or authorization codes (they would answer the same as absent ones).
 */
export interface EmulatorSnapshot {
  kind: typeof SNAPSHOT_KIND;
  version: typeof SNAPSHOT_VERSION;
  savedAt: string;
  /** Base URL the emulator had; restored channels' resourceUri is moved to the new one. */
  url: string;
  store: StoreSnapshot;
  auth: AuthSnapshot;
  channels: ChannelSnapshot[];
}

export const SNAPSHOT_KIND = 'calsync#googleCalendarEmulatorSnapshot';
export const SNAPSHOT_VERSION = 1;

export interface StoreSnapshot {
  epoch: string;
  etagCounter: number;
  calendars: CalendarSnapshot[];
}

export interface CalendarSnapshot {
  id: string;
  ownerEmail: string;
  summary: string;
  timeZone: string;
  primary: boolean;
  resourceId: string;
  seq: number;
  generation: number;
  updatedMs: number;
  /** Every stored record (tombstones included) in insertion order. */
  events: EventSnapshot[];
  /** The change log: `seqs[k]` is the counter value of the change, `events[k]` the index of its record. */
  changes: { seqs: number[]; events: number[] };
  /** iCalUID → index of the latest record with it. */
  byICalUID: Array<[string, number]>;
}

export interface EventSnapshot {
  ev: GoogleEvent;
  seq: number;
  updatedMs: number;
  startMs: number;
  endMs: number;
  allDay: boolean;
  /** null: an open-ended series. */
  lastEndMs: number | null;
  series?: SeriesSnapshot;
  /** Index of the series master, on a modified or cancelled instance. */
  master?: number;
  /** Indexes of the modified or cancelled instances, on a series master. */
  exceptions?: number[];
}

export interface SeriesSnapshot {
  rule: Omit<RecurrenceRule, 'exdates'> & { exdates: number[] };
  startMs: number;
  durationMs: number;
  allDay: boolean;
  /** See `Zone.spec`. */
  zone: string;
}

export interface AuthSnapshot {
  accounts: Array<{ email: string; timeZone: string }>;
  refreshTokens: Array<[string, { email: string; scope: string; revoked: boolean }]>;
  accessTokens: Array<[string, { email: string; expiresAt: number; refreshToken?: string }]>;
  codes: Array<
    [
      string,
      { email: string; scope: string; redirectUri?: string; challenge?: string; challengeMethod?: string; expiresAt: number },
    ]
  >;
}

export interface ChannelSnapshot {
  id: string;
  resourceId: string;
  resourceUri: string;
  calendarId: string;
  address: string;
  token?: string;
  expiration: number;
  stopped: boolean;
  messageNumber: number;
}

export function snapshotCalendar(cal: CalendarState): CalendarSnapshot {
  const index = new Map<StoredEvent, number>();
  cal.order.forEach((rec, i) => index.set(rec, i));
  const at = (rec: StoredEvent): number => {
    const i = index.get(rec);
    if (i === undefined) throw new Error(`event ${rec.id} of calendar ${cal.id} is missing from its insertion order`);
    return i;
  };
  const events = cal.order.map((rec): EventSnapshot => {
    const out: EventSnapshot = {
      ev: rec.ev,
      seq: rec.seq,
      updatedMs: rec.updatedMs,
      startMs: rec.startMs,
      endMs: rec.endMs,
      allDay: rec.allDay,
      lastEndMs: Number.isFinite(rec.lastEndMs) ? rec.lastEndMs : null,
    };
    if (rec.series) out.series = snapshotSeries(rec.series);
    if (rec.master) out.master = at(rec.master);
    if (rec.exceptions) out.exceptions = [...rec.exceptions.values()].map(at);
    return out;
  });
  return {
    id: cal.id,
    ownerEmail: cal.ownerEmail,
    summary: cal.summary,
    timeZone: cal.timeZone,
    primary: cal.primary,
    resourceId: cal.resourceId,
    seq: cal.seq,
    generation: cal.generation,
    updatedMs: cal.updatedMs,
    events,
    changes: { seqs: cal.changeSeqs.slice(), events: cal.changeRecs.map(at) },
    byICalUID: [...cal.byICalUID].map(([uid, rec]) => [uid, at(rec)]),
  };
}

export function restoreCalendar(s: CalendarSnapshot): CalendarState {
  const cal = new CalendarState(s.id, s.ownerEmail, s.summary, s.timeZone, s.primary, s.resourceId);
  cal.seq = s.seq;
  cal.generation = s.generation;
  cal.updatedMs = s.updatedMs;
  const recs = s.events.map((e): StoredEvent => ({
    id: e.ev.id,
    ev: e.ev,
    seq: e.seq,
    updatedMs: e.updatedMs,
    startMs: e.startMs,
    endMs: e.endMs,
    allDay: e.allDay,
    lastEndMs: e.lastEndMs ?? Number.POSITIVE_INFINITY,
    series: e.series && restoreSeries(e.series),
  }));
  const rec = (i: number): StoredEvent => {
    const r = recs[i];
    if (!Number.isInteger(i) || !r) throw new Error(`calendar ${s.id}: no event at index ${i}`);
    return r;
  };
  s.events.forEach((e, i) => {
    if (e.master !== undefined) recs[i].master = rec(e.master);
    if (e.exceptions) recs[i].exceptions = new Map(e.exceptions.map((j) => [rec(j).id, rec(j)]));
  });
  for (const r of recs) {
    cal.order.push(r);
    cal.events.set(r.id, r);
  }
  if (s.changes.seqs.length !== s.changes.events.length) throw new Error(`calendar ${s.id}: change log columns differ in length`);
  for (let k = 0; k < s.changes.seqs.length; k++) {
    cal.changeSeqs.push(s.changes.seqs[k]);
    cal.changeRecs.push(rec(s.changes.events[k]));
  }
  for (const [uid, i] of s.byICalUID) cal.byICalUID.set(uid, rec(i));
  return cal;
}

function snapshotSeries(series: Series): SeriesSnapshot {
  return {
    rule: { ...series.rule, exdates: [...series.rule.exdates] },
    startMs: series.startMs,
    durationMs: series.durationMs,
    allDay: series.allDay,
    zone: series.zone.spec,
  };
}

function restoreSeries(s: SeriesSnapshot): Series {
  return {
    rule: { ...s.rule, exdates: new Set(s.rule.exdates) },
    startMs: s.startMs,
    durationMs: s.durationMs,
    allDay: s.allDay,
    zone: zoneFromSpec(s.zone),
  };
}

/** Refuses what is not a snapshot of this emulator, before any state is touched. */
export function checkSnapshot(value: unknown): asserts value is EmulatorSnapshot {
  const s = value as Partial<EmulatorSnapshot> | null;
  if (!s || typeof s !== 'object' || s.kind !== SNAPSHOT_KIND) {
    throw new EmulatorError(400, `not a Google Calendar emulator snapshot (kind must be ${SNAPSHOT_KIND})`);
  }
  if (s.version !== SNAPSHOT_VERSION) {
    throw new EmulatorError(400, `snapshot version ${String(s.version)} is not supported (expected ${SNAPSHOT_VERSION})`);
  }
  const store = s.store as Partial<StoreSnapshot> | undefined;
  const auth = s.auth as Partial<AuthSnapshot> | undefined;
  if (
    !store ||
    typeof store.epoch !== 'string' ||
    !Array.isArray(store.calendars) ||
    !auth ||
    !Array.isArray(auth.accounts) ||
    !Array.isArray(auth.refreshTokens) ||
    !Array.isArray(auth.accessTokens) ||
    !Array.isArray(auth.codes) ||
    !Array.isArray(s.channels)
  ) {
    throw new EmulatorError(400, 'snapshot is incomplete: store, auth and channels are required');
  }
}
