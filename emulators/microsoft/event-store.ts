import { badRequest, type DeltaExpiry, GraphApiError, irresolvableConflict, itemNotFound } from './errors.js';
import { newCalendarId, newChangeKey, newEventId, newICalUId, occurrenceId, opaqueToken, parseOccurrenceId } from './ids.js';
import { type Occurrence, occurrenceAt, occurrences, parseRecurrence, type SeriesSpec, seriesSpec } from './recurrence.js';
import { DAY_MS, floatingToUtc, floorDay, formatDate, formatFloating, resolveDateTime, utcToFloating } from './time.js';
import type {
  Attendee,
  ChangeType,
  DateTimeTimeZone,
  EmailAddress,
  ItemBody,
  Location,
  PatternedRecurrence,
  ResponseStatus,
  ShowAs,
} from './types.js';

/**
 * Calendars and events of every mailbox. Records are plain data (snapshot() serialises them as they are);
 * deletes leave tombstones, and each calendar keeps an append-only change log that delta tokens point into.
 */

export interface EventFields {
  subject: string;
  body: ItemBody;
  location: Location;
  attendees: Array<Required<Pick<Attendee, 'type' | 'emailAddress'>> & { status: ResponseStatus }>;
  isAllDay: boolean;
  showAs: ShowAs;
  importance: string;
  sensitivity: string;
  categories: string[];
  isCancelled: boolean;
  /** Absent: the calendar's owner organises it. */
  organizer?: { emailAddress: EmailAddress };
  /** Absent: the default for the owner's role (organizer, or notResponded when someone else organises). */
  responseStatus?: ResponseStatus;
  transactionId: string | null;
  reminderMinutesBeforeStart: number;
  isReminderOn: boolean;
}

/** One version of what a record put on the calendar: a single span, or a series. Drives delta's @removed. */
export interface SeriesVersion {
  /** Change counter value this version took effect at. */
  seq: number;
  spec: SeriesSpec | null;
  startMs: number;
  endMs: number;
}

export interface StoredEvent {
  id: string;
  calendarId: string;
  fields: EventFields;
  /** As written by the client, normalised to Graph's format (originalStartTimeZone keeps the zone name). */
  start: DateTimeTimeZone;
  end: DateTimeTimeZone;
  startMs: number;
  endMs: number;
  /** Wall-clock start and end in the start's zone. */
  startFloatingMs: number;
  endFloatingMs: number;
  /** IANA zone of the start. */
  zone: string;
  iCalUId: string;
  createdMs: number;
  lastModifiedMs: number;
  changeKey: string;
  /** Change counter value of the latest write. */
  seq: number;
  deleted: boolean;
  /** Series masters. */
  recurrence?: PatternedRecurrence;
  exceptionIds?: string[];
  /** Every version of a record that is or was a series master, oldest first. */
  history?: SeriesVersion[];
  /** Exceptions (modified or deleted occurrences): the master and the occurrence's original start. */
  masterId?: string;
  originalStartMs?: number;
}

export interface CalendarState {
  id: string;
  ownerEmail: string;
  name: string;
  isDefault: boolean;
  changeKey: string;
  /** Record ids in creation order (tombstones stay), a stable cursor for full delta rounds. */
  order: string[];
  events: Map<string, StoredEvent>;
  /** Append-only change log as parallel arrays; seq values ascend, so a token is a binary search away. */
  changeSeqs: number[];
  changeIds: string[];
  seq: number;
  /** Bumped by invalidateDeltaTokens: tokens carry the generation they were issued in. */
  generation: number;
  /** What a token of an older generation answers. */
  expiry: DeltaExpiry;
}

export interface ChangeNotice {
  calendar: CalendarState;
  changeType: ChangeType;
  event: StoredEvent;
}

/** What a client can address by id: a stored record, or an occurrence generated from a master. */
export type Target =
  | { cal: CalendarState; rec: StoredEvent; occurrence?: undefined }
  | { cal: CalendarState; rec: StoredEvent; occurrence: Occurrence };

export interface WriteOptions {
  ifMatch?: string;
  /** The user (Outlook) may also set organizer, responseStatus and isCancelled; API clients may not. */
  user?: boolean;
}

const SHOW_AS = new Set<ShowAs>(['free', 'tentative', 'busy', 'oof', 'workingElsewhere', 'unknown']);
const RESPONSES = new Set(['none', 'organizer', 'tentativelyAccepted', 'accepted', 'declined', 'notResponded']);
const IMPORTANCE = new Set(['low', 'normal', 'high']);
const SENSITIVITY = new Set(['normal', 'personal', 'private', 'confidential']);
const ATTENDEE_TYPES = new Set(['required', 'optional', 'resource']);
export const NEVER = '0001-01-01T00:00:00Z';

export class EventStore {
  readonly calendars = new Map<string, CalendarState>();
  /** Record id → calendar id, mailbox-wide (Graph addresses events as /me/events/{id} whatever their calendar). */
  readonly eventCalendar = new Map<string, string>();
  /** Changes on every reset so tokens from an earlier life of the emulator are unknown, not misread. */
  epoch = opaqueToken('', 6);

  constructor(private readonly onChange: (notice: ChangeNotice) => void) {}

  reset(): void {
    this.calendars.clear();
    this.eventCalendar.clear();
    this.epoch = opaqueToken('', 6);
  }

  addCalendar(input: { id?: string; ownerEmail: string; name: string; isDefault: boolean }): CalendarState {
    const id = input.id ?? newCalendarId();
    if (this.calendars.has(id)) throw new GraphApiError(409, 'ErrorFolderExists', `A calendar with id ${id} already exists.`);
    const cal: CalendarState = {
      id,
      ownerEmail: input.ownerEmail,
      name: input.name,
      isDefault: input.isDefault,
      changeKey: newChangeKey(),
      order: [],
      events: new Map(),
      changeSeqs: [],
      changeIds: [],
      seq: 0,
      generation: 0,
      expiry: 'syncStateNotFound',
    };
    this.calendars.set(id, cal);
    return cal;
  }

  invalidateDeltaTokens(cal: CalendarState, expiry: DeltaExpiry): void {
    cal.generation++;
    cal.expiry = expiry;
  }

  // ---- reads -------------------------------------------------------------------------------------

  /** A live record or occurrence by id, wherever it lives in the mailbox; undefined when unknown or deleted. */
  resolve(eventId: string): Target | undefined {
    const calId = this.eventCalendar.get(eventId);
    if (calId !== undefined) {
      const cal = this.calendars.get(calId);
      const rec = cal?.events.get(eventId);
      if (!cal || !rec || !this.isLive(cal, rec)) return undefined;
      return { cal, rec };
    }
    const occ = parseOccurrenceId(eventId);
    if (!occ) return undefined;
    const masterCalId = this.eventCalendar.get(occ.masterId);
    const cal = masterCalId === undefined ? undefined : this.calendars.get(masterCalId);
    const master = cal?.events.get(occ.masterId);
    if (!cal || !master?.recurrence || master.deleted) return undefined;
    const occurrence = occurrenceAt(specOf(master), occ.originalStartMs);
    return occurrence ? { cal, rec: master, occurrence } : undefined;
  }

  isLive(cal: CalendarState, rec: StoredEvent): boolean {
    if (rec.deleted) return false;
    if (rec.masterId === undefined) return true;
    const master = cal.events.get(rec.masterId);
    return !!master && !master.deleted;
  }

  /** Live singles and exceptions, and occurrences of live masters, overlapping [fromMs, toMs), by start. */
  view(cal: CalendarState, fromMs: number, toMs: number): ViewItem[] {
    const out: ViewItem[] = [];
    for (const id of cal.order) {
      const rec = cal.events.get(id) as StoredEvent;
      if (rec.deleted || rec.masterId !== undefined) continue;
      if (rec.recurrence) out.push(...this.expand(cal, rec, fromMs, toMs));
      else if (overlaps(rec.startMs, rec.endMs, fromMs, toMs))
        out.push({ id: rec.id, rec, startMs: rec.startMs, endMs: rec.endMs });
    }
    out.sort((a, b) => a.startMs - b.startMs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return out;
  }

  /** A master's occurrences in the window, exceptions substituted (moved ones included), deleted ones left out. */
  expand(cal: CalendarState, master: StoredEvent, fromMs: number, toMs: number): ViewItem[] {
    const out: ViewItem[] = [];
    const seen = new Set<string>();
    for (const occ of occurrences(specOf(master), { fromMs, toMs })) {
      const id = occurrenceId(master.id, occ.startMs);
      const exc = cal.events.get(id);
      if (exc && exc.masterId === master.id) {
        seen.add(id);
        if (!exc.deleted && overlaps(exc.startMs, exc.endMs, fromMs, toMs))
          out.push({ id, rec: exc, startMs: exc.startMs, endMs: exc.endMs });
        continue;
      }
      out.push({ id, rec: master, occurrence: occ, startMs: occ.startMs, endMs: occ.endMs });
    }
    let added = false;
    for (const id of master.exceptionIds ?? []) {
      const exc = cal.events.get(id);
      if (!exc || seen.has(id) || exc.deleted || !overlaps(exc.startMs, exc.endMs, fromMs, toMs)) continue;
      out.push({ id, rec: exc, startMs: exc.startMs, endMs: exc.endMs });
      added = true;
    }
    if (added) out.sort((a, b) => a.startMs - b.startMs);
    return out;
  }

  /** The live record with this transactionId in the calendar (singles and masters). */
  findByTransactionId(cal: CalendarState, transactionId: string): StoredEvent | undefined {
    for (const id of cal.order) {
      const rec = cal.events.get(id) as StoredEvent;
      if (!rec.deleted && rec.masterId === undefined && rec.fields.transactionId === transactionId) return rec;
    }
    return undefined;
  }

  /** Whether a deleted event of the calendar was made with this transactionId. */
  deletedWithTransactionId(cal: CalendarState, transactionId: string): boolean {
    for (const id of cal.order) {
      const rec = cal.events.get(id) as StoredEvent;
      if (rec.deleted && rec.masterId === undefined && rec.fields.transactionId === transactionId) return true;
    }
    return false;
  }

  // ---- writes ------------------------------------------------------------------------------------

  /** The record a create would make, without storing it (a retried create compares against it). */
  build(cal: CalendarState, body: Record<string, unknown>, opts: { user?: boolean } = {}): StoredEvent {
    const fields = parseFields(body, defaultFields(), opts.user ?? false);
    if (body.transactionId !== undefined && body.transactionId !== null) {
      if (typeof body.transactionId !== 'string') throw badRequest('transactionId must be a string.');
      fields.transactionId = body.transactionId;
    }
    const now = Date.now();
    const rec: StoredEvent = {
      id: this.freshId(),
      calendarId: cal.id,
      fields,
      ...times(body.start, body.end, fields.isAllDay),
      iCalUId: newICalUId(now),
      createdMs: now,
      lastModifiedMs: now,
      changeKey: newChangeKey(),
      seq: 0,
      deleted: false,
    };
    if (body.recurrence !== undefined && body.recurrence !== null) {
      rec.recurrence = parseRecurrence(body.recurrence, formatDate(rec.startFloatingMs));
      rec.exceptionIds = [];
    }
    return rec;
  }

  create(cal: CalendarState, body: Record<string, unknown>, opts: { user?: boolean; silent?: boolean } = {}): StoredEvent {
    const rec = this.build(cal, body, opts);
    if (rec.recurrence) rec.history = [{ seq: cal.seq + 1, ...versionOf(rec) }];
    this.register(cal, rec);
    this.recordChange(cal, rec);
    if (!opts.silent) this.onChange({ calendar: cal, changeType: 'created', event: rec });
    return rec;
  }

  update(eventId: string, body: Record<string, unknown>, opts: WriteOptions = {}): StoredEvent {
    const { cal, rec, isNew } = this.writeTarget(eventId, opts.ifMatch);
    if (body.transactionId !== undefined && body.transactionId !== rec.fields.transactionId) {
      throw badRequest('The transactionId of an event cannot be changed once set.');
    }
    const before = versionOf(rec);
    const wasSeries = rec.recurrence !== undefined || rec.history !== undefined;
    rec.fields = parseFields(body, rec.fields, opts.user ?? false);
    if (body.start !== undefined || body.end !== undefined || body.isAllDay !== undefined) {
      Object.assign(rec, times(body.start ?? rec.start, body.end ?? rec.end, rec.fields.isAllDay));
    }
    let seriesChanged = false;
    if (body.recurrence !== undefined) {
      if (rec.masterId !== undefined) throw badRequest('The recurrence of an occurrence of a series cannot be set.');
      const next = body.recurrence === null ? undefined : parseRecurrence(body.recurrence, formatDate(rec.startFloatingMs));
      seriesChanged = JSON.stringify(next ?? null) !== JSON.stringify(rec.recurrence ?? null);
      rec.recurrence = next;
    }
    const isSeries = rec.recurrence !== undefined;
    if (
      (wasSeries || isSeries) &&
      rec.masterId === undefined &&
      (seriesChanged || before.startMs !== rec.startMs || before.endMs !== rec.endMs)
    ) {
      // Outlook drops a series' exceptions when its pattern or times change.
      this.dropExceptions(cal, rec);
      rec.history ??= [{ seq: rec.seq, ...before }];
      rec.history.push({ seq: cal.seq + 1, ...versionOf(rec) });
      if (isSeries) rec.exceptionIds ??= [];
      else delete rec.exceptionIds;
    }
    this.touch(rec);
    if (isNew) this.registerException(cal, rec);
    this.recordChange(cal, rec);
    this.onChange({ calendar: cal, changeType: 'updated', event: rec });
    return rec;
  }

  remove(eventId: string, opts: WriteOptions = {}): StoredEvent {
    const { cal, rec, isNew } = this.writeTarget(eventId, opts.ifMatch);
    rec.deleted = true;
    this.touch(rec);
    if (isNew) this.registerException(cal, rec);
    this.recordChange(cal, rec);
    if (rec.recurrence) this.dropExceptions(cal, rec);
    this.onChange({ calendar: cal, changeType: 'deleted', event: rec });
    return rec;
  }

  /** Outlook moves by copy-and-delete: a new id in the destination, the same iCalUId. */
  move(eventId: string, dest: CalendarState): StoredEvent {
    const target = this.resolve(eventId);
    if (!target) throw itemNotFound();
    const { cal: source, rec } = target;
    if (target.occurrence || rec.masterId !== undefined)
      throw badRequest('An occurrence of a series cannot be moved on its own.');
    if (dest === source) return rec;
    const now = Date.now();
    const moved: StoredEvent = {
      ...structuredClone(rec),
      id: this.freshId(),
      calendarId: dest.id,
      lastModifiedMs: Math.max(now, rec.lastModifiedMs + 1),
      changeKey: newChangeKey(),
      seq: 0,
    };
    delete moved.history;
    if (moved.recurrence) {
      moved.exceptionIds = [];
      moved.history = [{ seq: dest.seq + 1, ...versionOf(moved) }];
    }
    this.register(dest, moved);
    this.recordChange(dest, moved);
    for (const excId of rec.exceptionIds ?? []) {
      const exc = source.events.get(excId) as StoredEvent;
      const copy: StoredEvent = {
        ...structuredClone(exc),
        id: occurrenceId(moved.id, exc.originalStartMs as number),
        calendarId: dest.id,
        masterId: moved.id,
        changeKey: newChangeKey(),
      };
      this.registerException(dest, copy);
      this.recordChange(dest, copy);
    }
    rec.deleted = true;
    this.touch(rec);
    this.recordChange(source, rec);
    if (rec.recurrence) this.dropExceptions(source, rec);
    this.onChange({ calendar: source, changeType: 'deleted', event: rec });
    this.onChange({ calendar: dest, changeType: 'created', event: moved });
    return moved;
  }

  /** Sets the owner's response (accept/decline/tentativelyAccept); it changes the event like any write. */
  respond(eventId: string, response: ResponseStatus['response']): StoredEvent {
    return this.update(eventId, { responseStatus: { response, time: new Date().toISOString() } }, { user: true });
  }

  // ---- internals ---------------------------------------------------------------------------------

  /** The record a write applies to; an untouched occurrence becomes a (not yet registered) exception. */
  /** As if the event had been made `ms` earlier than it was (its created and last-modified times move back). */
  age(eventId: string, ms: number): void {
    const target = this.resolve(eventId);
    if (!target) throw itemNotFound();
    target.rec.createdMs -= ms;
    target.rec.lastModifiedMs -= ms;
  }

  private writeTarget(eventId: string, ifMatch: string | undefined): { cal: CalendarState; rec: StoredEvent; isNew: boolean } {
    const target = this.resolve(eventId);
    if (!target) throw itemNotFound();
    const { cal, rec, occurrence } = target;
    checkIfMatch(ifMatch, rec.changeKey);
    if (!occurrence) return { cal, rec, isNew: false };
    const exc: StoredEvent = {
      ...structuredClone(rec),
      id: eventId,
      startMs: occurrence.startMs,
      endMs: occurrence.endMs,
      startFloatingMs: utcToFloating(occurrence.startMs, rec.zone),
      endFloatingMs: utcToFloating(occurrence.endMs, rec.zone),
      seq: 0,
      masterId: rec.id,
      originalStartMs: occurrence.startMs,
    };
    exc.start = { dateTime: formatFloating(exc.startFloatingMs), timeZone: rec.start.timeZone };
    exc.end = { dateTime: formatFloating(exc.endFloatingMs), timeZone: rec.end.timeZone };
    delete exc.recurrence;
    delete exc.exceptionIds;
    delete exc.history;
    return { cal, rec: exc, isNew: true };
  }

  private freshId(): string {
    let id: string;
    do id = newEventId();
    while (this.eventCalendar.has(id));
    return id;
  }

  private register(cal: CalendarState, rec: StoredEvent): void {
    cal.events.set(rec.id, rec);
    cal.order.push(rec.id);
    this.eventCalendar.set(rec.id, cal.id);
  }

  private registerException(cal: CalendarState, exc: StoredEvent): void {
    this.register(cal, exc);
    const master = cal.events.get(exc.masterId as string) as StoredEvent;
    (master.exceptionIds ??= []).push(exc.id);
  }

  private dropExceptions(cal: CalendarState, master: StoredEvent): void {
    for (const id of master.exceptionIds ?? []) {
      const exc = cal.events.get(id) as StoredEvent;
      if (exc.deleted) continue;
      exc.deleted = true;
      this.touch(exc);
      this.recordChange(cal, exc);
    }
  }

  private touch(rec: StoredEvent): void {
    rec.lastModifiedMs = Math.max(Date.now(), rec.lastModifiedMs + 1);
    rec.changeKey = newChangeKey();
  }

  private recordChange(cal: CalendarState, rec: StoredEvent): void {
    rec.seq = ++cal.seq;
    cal.changeSeqs.push(rec.seq);
    cal.changeIds.push(rec.id);
  }
}

export interface ViewItem {
  id: string;
  /** The single or exception record, or the master when `occurrence` is set. */
  rec: StoredEvent;
  occurrence?: Occurrence;
  startMs: number;
  endMs: number;
}

export function overlaps(startMs: number, endMs: number, fromMs: number, toMs: number): boolean {
  return startMs < toMs && (endMs > fromMs || (endMs === startMs && startMs >= fromMs));
}

/** The series spec of a master's current version. */
export function specOf(master: StoredEvent): SeriesSpec {
  return seriesSpec(
    master.recurrence as PatternedRecurrence,
    { floatingMs: master.startFloatingMs, zone: master.zone },
    master.endFloatingMs,
    master.fields.isAllDay,
  );
}

function versionOf(rec: StoredEvent): Omit<SeriesVersion, 'seq'> {
  return { spec: rec.recurrence ? specOf(rec) : null, startMs: rec.startMs, endMs: rec.endMs };
}

/** First change-log index whose seq is greater than `seq`. */
export function changeIndexAfter(cal: CalendarState, seq: number): number {
  let lo = 0;
  let hi = cal.changeSeqs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cal.changeSeqs[mid] <= seq) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function etagOf(changeKey: string): string {
  return `W/"${changeKey}"`;
}

/** If-Match takes the @odata.etag (W/"changeKey"), the bare changeKey, or '*'. */
function checkIfMatch(ifMatch: string | undefined, changeKey: string): void {
  if (ifMatch === undefined || ifMatch.trim() === '*') return;
  const ok = ifMatch.split(',').some((t) => {
    const tag = t.trim().replace(/^W\//, '').replace(/^"|"$/g, '');
    return tag === changeKey;
  });
  if (!ok) throw irresolvableConflict();
}

// ---- request bodies ------------------------------------------------------------------------------

function defaultFields(): EventFields {
  return {
    subject: '',
    body: { contentType: 'html', content: '' },
    location: { displayName: '' },
    attendees: [],
    isAllDay: false,
    showAs: 'busy',
    importance: 'normal',
    sensitivity: 'normal',
    categories: [],
    isCancelled: false,
    transactionId: null,
    reminderMinutesBeforeStart: 15,
    isReminderOn: true,
  };
}

/** Top-level merge of a body into `base`: each field given replaces the stored one, as Graph's PATCH does. */
function parseFields(body: Record<string, unknown>, base: EventFields, user: boolean): EventFields {
  const f: EventFields = structuredClone(base);
  if (body.subject !== undefined) f.subject = body.subject === null ? '' : str(body.subject, 'subject');
  if (body.body !== undefined) f.body = itemBody(body.body);
  if (body.location !== undefined) {
    const loc = (body.location ?? {}) as Record<string, unknown>;
    f.location = {
      displayName: loc.displayName === undefined || loc.displayName === null ? '' : str(loc.displayName, 'location.displayName'),
      ...(typeof loc.locationType === 'string' ? { locationType: loc.locationType } : {}),
      ...(loc.address && typeof loc.address === 'object' && !Array.isArray(loc.address)
        ? {
            address: Object.fromEntries(
              Object.entries(loc.address as Record<string, unknown>).filter(([, v]) => typeof v === 'string'),
            ) as Record<string, string>,
          }
        : {}),
    };
  }
  if (body.attendees !== undefined) f.attendees = attendees(body.attendees, user);
  if (body.isAllDay !== undefined) f.isAllDay = bool(body.isAllDay, 'isAllDay');
  if (body.showAs !== undefined) f.showAs = oneOf(body.showAs, SHOW_AS, 'showAs') as ShowAs;
  if (body.importance !== undefined) f.importance = oneOf(body.importance, IMPORTANCE, 'importance');
  if (body.sensitivity !== undefined) f.sensitivity = oneOf(body.sensitivity, SENSITIVITY, 'sensitivity');
  if (body.categories !== undefined) {
    if (!Array.isArray(body.categories) || !body.categories.every((c) => typeof c === 'string'))
      throw badRequest('categories must be strings.');
    f.categories = [...(body.categories as string[])];
  }
  if (body.reminderMinutesBeforeStart !== undefined) f.reminderMinutesBeforeStart = Number(body.reminderMinutesBeforeStart) || 0;
  if (body.isReminderOn !== undefined) f.isReminderOn = bool(body.isReminderOn, 'isReminderOn');
  if (user) {
    if (body.isCancelled !== undefined) f.isCancelled = bool(body.isCancelled, 'isCancelled');
    if (body.organizer !== undefined) {
      if (body.organizer === null) delete f.organizer;
      else f.organizer = { emailAddress: emailAddress((body.organizer as { emailAddress?: unknown }).emailAddress, 'organizer') };
    }
    if (body.responseStatus !== undefined) {
      if (body.responseStatus === null) delete f.responseStatus;
      else f.responseStatus = responseStatus(body.responseStatus);
    }
  }
  return f;
}

function times(
  startIn: unknown,
  endIn: unknown,
  allDay: boolean,
): Pick<StoredEvent, 'start' | 'end' | 'startMs' | 'endMs' | 'startFloatingMs' | 'endFloatingMs' | 'zone'> {
  const start = resolveDateTime(startIn as DateTimeTimeZone | undefined, 'start');
  const end = resolveDateTime(endIn as DateTimeTimeZone | undefined, 'end');
  if (end.ms < start.ms) throw badRequest('The end time of the event is before its start time.');
  if (allDay) {
    const endFloat = end.floatingMs;
    if (floorDay(start.floatingMs) !== start.floatingMs || floorDay(endFloat) !== endFloat || endFloat <= start.floatingMs) {
      throw badRequest('An all-day event must start and end at midnight and last at least one day.');
    }
  }
  const endFloatingInStartZone = allDay
    ? start.floatingMs + Math.round((end.floatingMs - start.floatingMs) / DAY_MS) * DAY_MS
    : utcToFloating(end.ms, start.zone);
  return {
    start: { dateTime: formatFloating(start.floatingMs), timeZone: start.zoneName },
    end: { dateTime: formatFloating(end.floatingMs), timeZone: end.zoneName },
    startMs: start.ms,
    endMs: allDay ? floatingToUtc(endFloatingInStartZone, start.zone) : end.ms,
    startFloatingMs: start.floatingMs,
    endFloatingMs: endFloatingInStartZone,
    zone: start.zone,
  };
}

function itemBody(v: unknown): ItemBody {
  if (v === null) return { contentType: 'html', content: '' };
  if (!v || typeof v !== 'object') throw badRequest('body must be an object with contentType and content.');
  const b = v as Record<string, unknown>;
  const type = String(b.contentType ?? 'text').toLowerCase();
  if (type !== 'text' && type !== 'html') throw badRequest(`Invalid body contentType: ${String(b.contentType)}`);
  return { contentType: type, content: b.content === undefined || b.content === null ? '' : str(b.content, 'body.content') };
}

function attendees(v: unknown, user: boolean): EventFields['attendees'] {
  if (v === null) return [];
  if (!Array.isArray(v)) throw badRequest('attendees must be an array.');
  return v.map((a: unknown, i) => {
    const att = (a ?? {}) as Record<string, unknown>;
    const type = att.type === undefined ? 'required' : oneOf(att.type, ATTENDEE_TYPES, `attendees[${i}].type`);
    const status = user && att.status !== undefined ? responseStatus(att.status) : { response: 'none' as const, time: NEVER };
    return { type: type as 'required', emailAddress: emailAddress(att.emailAddress, `attendees[${i}]`), status };
  });
}

function emailAddress(v: unknown, field: string): EmailAddress {
  const e = (v ?? {}) as Record<string, unknown>;
  if (typeof e.address !== 'string' || !e.address) throw badRequest(`${field}.emailAddress.address is required.`);
  return { name: typeof e.name === 'string' && e.name ? e.name : e.address, address: e.address };
}

function responseStatus(v: unknown): ResponseStatus {
  const r = (v ?? {}) as Record<string, unknown>;
  return {
    response: oneOf(r.response, RESPONSES, 'responseStatus.response') as ResponseStatus['response'],
    time: typeof r.time === 'string' ? r.time : new Date().toISOString(),
  };
}

function str(v: unknown, field: string): string {
  if (typeof v !== 'string') throw badRequest(`${field} must be a string.`);
  return v;
}

function bool(v: unknown, field: string): boolean {
  if (typeof v !== 'boolean') throw badRequest(`${field} must be a boolean.`);
  return v;
}

function oneOf(v: unknown, allowed: Set<string>, field: string): string {
  if (typeof v !== 'string' || !allowed.has(v)) throw badRequest(`Invalid value for ${field}: ${String(v)}`);
  return v;
}
