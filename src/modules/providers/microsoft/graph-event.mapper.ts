import {
  type BusyInterval,
  type EventInput,
  type ExternalAttendee,
  type ExternalEvent,
  type ExternalEventStatus,
  removedEvent,
} from '../external-event.js';
import { WINDOWS_TO_IANA_MAP, findIana, findWindows } from 'windows-iana';

/** The parts of Graph's `event` resource calsync reads (v1.0; every field may be absent). */
export interface GraphDateTimeTimeZone {
  dateTime?: string | null;
  timeZone?: string | null;
}

export interface GraphEmailAddress {
  name?: string | null;
  address?: string | null;
}

export interface GraphAttendee {
  type?: string | null;
  status?: { response?: string | null } | null;
  emailAddress?: GraphEmailAddress | null;
}

export interface GraphEvent {
  id?: string;
  '@odata.etag'?: string;
  /** Present (and nearly alone) on the delta entries of events that left the view or were deleted. */
  '@removed'?: { reason?: string } | null;
  iCalUId?: string | null;
  subject?: string | null;
  body?: { contentType?: string | null; content?: string | null } | null;
  location?: { displayName?: string | null } | null;
  start?: GraphDateTimeTimeZone | null;
  end?: GraphDateTimeTimeZone | null;
  isAllDay?: boolean | null;
  isCancelled?: boolean | null;
  showAs?: string | null;
  type?: string | null;
  seriesMasterId?: string | null;
  /** The calendar owner's own answer to the meeting. */
  responseStatus?: { response?: string | null } | null;
  attendees?: GraphAttendee[] | null;
  organizer?: { emailAddress?: GraphEmailAddress | null } | null;
  createdDateTime?: string | null;
  lastModifiedDateTime?: string | null;
  changeKey?: string | null;
  transactionId?: string | null;
}

/** The body calsync writes (POST and PATCH). */
export interface GraphEventBody {
  subject: string;
  body: { contentType: 'text'; content: string };
  location: { displayName: string };
  start: GraphWriteTime;
  end: GraphWriteTime;
  attendees: Array<{ emailAddress: { address: string; name?: string }; type: 'required' }>;
  transactionId?: string;
}

/** `showAs` values that leave the time free. */
const FREE_SHOW_AS = new Set(['free', 'workingelsewhere']);

export interface GraphMapOptions {
  /** The event comes from a change listing: a cancelled one carries a `removal` reason. */
  listing?: boolean;
}

/**
 * Graph event → ExternalEvent. Times are read as the instants they denote: the adapter asks for
 * UTC (`Prefer: outlook.timezone="UTC"`), and other zones are converted (see `graphDateTimeToDate`).
 */
export function fromGraphEvent(event: GraphEvent, options: GraphMapOptions = {}): ExternalEvent {
  if (event['@removed']) return removedGraphEvent(event.id ?? '');
  const cancelled = event.isCancelled === true;
  const status: ExternalEventStatus = cancelled
    ? 'cancelled'
    : event.showAs?.toLowerCase() === 'tentative'
      ? 'tentative'
      : 'confirmed';
  const allDay = event.isAllDay === true;
  let start: Date | null;
  let end: Date | null;
  let startDate: string | null = null;
  let endDate: string | null = null;
  if (allDay) {
    // All-day events are calendar dates (end exclusive) whatever zone Graph states them in; start
    // and end are UTC midnights of those dates, which readers re-anchor in the user's zone.
    startDate = datePart(event.start?.dateTime);
    endDate = datePart(event.end?.dateTime);
    start = startDate ? new Date(`${startDate}T00:00:00.000Z`) : null;
    end = endDate ? new Date(`${endDate}T00:00:00.000Z`) : null;
  } else {
    start = graphDateTimeToDate(event.start);
    end = graphDateTimeToDate(event.end);
  }
  const showAs = event.showAs?.toLowerCase() ?? null;
  const declined = event.responseStatus?.response?.toLowerCase() === 'declined';
  return {
    id: event.id ?? '',
    iCalUID: event.iCalUId ?? null,
    status,
    removal: cancelled && options.listing ? 'deleted' : null,
    start,
    end,
    isAllDay: allDay,
    startDate,
    endDate,
    busy: !cancelled && start !== null && !(showAs !== null && FREE_SHOW_AS.has(showAs)) && !declined,
    title: event.subject ?? null,
    description: bodyText(event.body),
    location: event.location?.displayName || null,
    attendees: (event.attendees ?? []).flatMap(toAttendee),
    organizerEmail: event.organizer?.emailAddress?.address?.toLowerCase() || null,
    recurringEventId: event.seriesMasterId ?? null,
    recurring: event.type === 'seriesMaster',
    etag: event['@odata.etag'] ?? event.changeKey ?? null,
    updated: event.lastModifiedDateTime ?? null,
    sequence: null,
  };
}

/**
 * A delta `@removed` entry: Graph does not say whether the event was deleted or only left the
 * window, so the sync confirms with a get before it cancels a booking.
 */
export function removedGraphEvent(id: string): ExternalEvent {
  return removedEvent(id, 'unknown');
}

function toAttendee(attendee: GraphAttendee): ExternalAttendee[] {
  const email = attendee.emailAddress?.address;
  if (!email) return [];
  return [
    {
      email: email.toLowerCase(),
      name: attendee.emailAddress?.name || null,
      responseStatus: attendee.status?.response ?? null,
      organizer: false,
      resource: attendee.type?.toLowerCase() === 'resource',
    },
  ];
}

/** EventInput → the Graph body. Times in the host's zone where that is exact (`graphTime`). */
export function toGraphEventBody(input: EventInput, options: GraphTimeOptions = {}): GraphEventBody {
  return {
    subject: input.title,
    body: { contentType: 'text', content: input.description ?? '' },
    location: { displayName: input.location ?? '' },
    ...graphTimes(input.start, input.end, input.timeZone, options),
    attendees: input.attendees.map((a) => ({
      emailAddress: { address: a.email, ...(a.name ? { name: a.name } : {}) },
      type: 'required' as const,
    })),
  };
}

export interface GraphTimeOptions {
  /** Windows zones this Outlook was seen to read otherwise than ICU: times in them are written in UTC. */
  utcZones?: ReadonlySet<string>;
}

/**
 * An event's start and end as Graph's `dateTimeTimeZone`s, both in the same zone: the host's
 * (`graphTime`) where it is exact for both instants, else both in UTC (an event starting in one
 * zone and ending in another would make a series the host later makes of it start in UTC).
 */
export function graphTimes(
  start: Date,
  end: Date,
  timeZone: string | null | undefined,
  options: GraphTimeOptions = {},
): { start: GraphWriteTime; end: GraphWriteTime } {
  const local = { start: graphTime(start, timeZone), end: graphTime(end, timeZone) };
  const zone = local.start.timeZone;
  if (zone !== 'UTC' && zone === local.end.timeZone && !options.utcZones?.has(zone)) return local;
  return { start: utcTime(start), end: utcTime(end) };
}

export interface GraphWriteTime {
  dateTime: string;
  timeZone: string;
}

export function utcTime(date: Date): GraphWriteTime {
  return { dateTime: toGraphUtcDateTime(date), timeZone: 'UTC' };
}

/** Within this long of one of the zone's offset changes, a time is written in UTC (see `graphTime`). */
const NEAR_OFFSET_CHANGE_MS = 3 * 3_600_000;
const PROBES = [-NEAR_OFFSET_CHANGE_MS, 0, NEAR_OFFSET_CHANGE_MS];

/**
 * An instant as Graph's `dateTimeTimeZone`: the wall-clock time in the host's zone, named by its
 * Windows zone (Graph takes every Windows name but only some IANA ones on writes), so invitations
 * show the host's local time and a series the host later makes of the event keeps its local time
 * across daylight-saving changes. In UTC instead when that could name another instant:
 * - the zone is unknown, or has no Windows zone (CLDR `windowsZones`, through `windows-iana`);
 * - the Windows zone's own rules (those of its reference IANA zone) differ from the host zone's
 *   near the instant (a country that changed its offset since the mapping was made);
 * - within a few hours of one of the zone's offset changes: `dateTime` carries no offset, and a
 *   wall-clock time there can name two instants (or none).
 * Exchange converts with its own zone data, which can still differ from ICU's: the adapter checks
 * the instants Graph answers and writes them again in UTC when they differ.
 */
export function graphTime(date: Date, timeZone: string | null | undefined): GraphWriteTime {
  const utc = utcTime(date);
  const zone = timeZone?.trim() ?? '';
  if (zone === '' || UTC_ZONES.has(zone.toLowerCase())) return utc;
  const windows = windowsZoneOf(zone);
  if (!windows) return utc;
  const at = date.getTime();
  const offset = zoneOffsetMs(zone, at);
  const steady = PROBES.every((probe) => {
    const hostOffset = zoneOffsetMs(zone, at + probe);
    return hostOffset === offset && zoneOffsetMs(windows.reference, at + probe) === hostOffset;
  });
  if (offset === null || !steady) return utc;
  return { dateTime: new Date(at + offset).toISOString().slice(0, -1), timeZone: windows.name };
}

const windowsZones = new Map<string, { name: string; reference: string } | null>();

/**
 * The Windows zone for an IANA zone, with the IANA zone whose rules it stands for (the first of its
 * CLDR list, territory 001). Names Intl canonicalizes otherwise (`Europe/Kyiv` → `Europe/Kiev` on
 * older ICU data) are looked up under both.
 */
function windowsZoneOf(zone: string): { name: string; reference: string } | null {
  let found = windowsZones.get(zone);
  if (found !== undefined) return found;
  found = null;
  let canonical: string | null = null;
  try {
    canonical = new Intl.DateTimeFormat('en-US', { timeZone: zone }).resolvedOptions().timeZone;
  } catch {
    // Not a zone Intl knows: it has no offsets to write with.
  }
  if (canonical) {
    const name = findWindows(zone)[0] ?? findWindows(canonical)[0];
    const reference = name ? findIana(name, '001')?.[0] : undefined;
    if (name && reference) found = { name, reference };
  }
  windowsZones.set(zone, found);
  return found;
}

/** Windows zone names (lower case) → their reference IANA zone (territory 001). */
const WINDOWS_REFERENCES = new Map(
  WINDOWS_TO_IANA_MAP.filter((zone) => zone.territory === '001' && zone.iana[0]).map((zone) => [
    zone.windowsName.toLowerCase(),
    zone.iana[0] as string,
  ]),
);

/** The reference IANA zone (territory 001) of a Windows zone name, in any case, or null. */
function ianaZoneOfWindows(name: string): string | null {
  return WINDOWS_REFERENCES.get(name.toLowerCase()) ?? null;
}

/** `2026-12-01T10:00:00.000Z` → `2026-12-01T10:00:00.000`: Graph reads the zone from `timeZone`. */
export function toGraphUtcDateTime(date: Date): string {
  return date.toISOString().slice(0, -1);
}

/**
 * Whether an event already says what `input` says (subject, times, location, description,
 * attendees): a create answered with an event that does not is one made by an earlier attempt
 * and is patched to the input.
 */
export function eventMatchesInput(event: ExternalEvent, input: EventInput): boolean {
  if ((event.title ?? '') !== input.title) return false;
  if (event.start?.getTime() !== input.start.getTime() || event.end?.getTime() !== input.end.getTime()) return false;
  if ((event.location ?? '') !== (input.location ?? '')) return false;
  if (normalizeText(event.description) !== normalizeText(input.description)) return false;
  const wanted = new Set(input.attendees.map((a) => a.email.toLowerCase()));
  const present = new Set(event.attendees.map((a) => a.email));
  return wanted.size === present.size && [...wanted].every((email) => present.has(email));
}

const normalizeText = (text: string | null): string => (text ?? '').replace(/\r\n?/g, '\n').trim();

/**
 * The busy time of mapped events within `range`: busy ones only (the `busy` rule above), clipped
 * to the range, sorted, and merged where they overlap or touch.
 */
export function busyIntervals(
  events: Iterable<ExternalEvent>,
  range: { start: Date; end: Date; timeZone?: string },
): BusyInterval[] {
  const from = range.start.getTime();
  const to = range.end.getTime();
  const spans: Array<[number, number]> = [];
  for (const event of events) {
    if (!event.busy || !event.start || !event.end) continue;
    // An all-day event covers its dates in the user's zone (as the cache answers it), not in UTC.
    const allDay = event.isAllDay && event.startDate && event.endDate && range.timeZone;
    const eventStart = allDay ? graphDateTimeToDate({ dateTime: event.startDate, timeZone: range.timeZone }) : event.start;
    const eventEnd = allDay ? graphDateTimeToDate({ dateTime: event.endDate, timeZone: range.timeZone }) : event.end;
    if (!eventStart || !eventEnd) continue;
    const start = Math.max(eventStart.getTime(), from);
    const end = Math.min(eventEnd.getTime(), to);
    if (end > start) spans.push([start, end]);
  }
  spans.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const merged: BusyInterval[] = [];
  let current: [number, number] | null = null;
  for (const span of spans) {
    if (current && span[0] <= current[1]) {
      current[1] = Math.max(current[1], span[1]);
      continue;
    }
    if (current) merged.push({ start: new Date(current[0]), end: new Date(current[1]) });
    current = [span[0], span[1]];
  }
  if (current) merged.push({ start: new Date(current[0]), end: new Date(current[1]) });
  return merged;
}

// ---- Times -------------------------------------------------------------------------------------

const WALL_CLOCK = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?$/;
const HAS_OFFSET = /(?:Z|[+-]\d{2}:?\d{2})$/i;
const UTC_ZONES = new Set(['utc', 'etc/utc', 'gmt', 'etc/gmt', 'z', 'coordinated universal time', 'tzone://microsoft/utc']);

/**
 * Graph `{dateTime, timeZone}` → instant. `dateTime` is wall-clock time without an offset (seven
 * fractional digits), in `timeZone`: UTC whenever the `outlook.timezone` preference was honoured.
 * An IANA zone is converted through Intl; a Windows zone name (only if the preference was ignored)
 * through its reference IANA zone (`windows-iana`); a name neither knows is read as UTC.
 */
export function graphDateTimeToDate(value: GraphDateTimeTimeZone | null | undefined): Date | null {
  const text = value?.dateTime?.trim();
  if (!text) return null;
  if (HAS_OFFSET.test(text)) {
    const parsed = Date.parse(text);
    return Number.isNaN(parsed) ? null : new Date(parsed);
  }
  const match = WALL_CLOCK.exec(text);
  if (!match) return null;
  const [, y, mo, d, h = '0', mi = '0', s = '0', fraction = ''] = match;
  const wall = Date.UTC(
    Number(y),
    Number(mo) - 1,
    Number(d),
    Number(h),
    Number(mi),
    Number(s),
    Number(fraction.padEnd(3, '0').slice(0, 3)),
  );
  const zone = value?.timeZone?.trim() ?? '';
  if (zone === '' || UTC_ZONES.has(zone.toLowerCase())) return new Date(wall);
  const iana = zoneOffsetMs(zone, wall) === null ? ianaZoneOfWindows(zone) : zone;
  const offset = iana ? zoneOffsetMs(iana, wall) : null;
  if (!iana || offset === null) return new Date(wall);
  // The offset at the guessed instant can differ from the one at the true instant across a DST
  // change: one correction settles it.
  const guess = wall - offset;
  const corrected = zoneOffsetMs(iana, guess) ?? offset;
  return new Date(wall - corrected);
}

const formatters = new Map<string, Intl.DateTimeFormat | null>();

/** The zone's UTC offset at `instant` (ms), or null when Intl does not know the zone. */
function zoneOffsetMs(zone: string, instant: number): number | null {
  let formatter = formatters.get(zone);
  if (formatter === undefined) {
    try {
      formatter = new Intl.DateTimeFormat('en-US', {
        timeZone: zone,
        hourCycle: 'h23',
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
        hour: '2-digit',
        minute: '2-digit',
        second: '2-digit',
      });
    } catch {
      formatter = null;
    }
    formatters.set(zone, formatter);
  }
  if (!formatter) return null;
  const parts: Record<string, number> = {};
  for (const part of formatter.formatToParts(new Date(instant))) {
    if (part.type !== 'literal') parts[part.type] = Number(part.value);
  }
  const asUtc = Date.UTC(
    parts.year ?? 0,
    (parts.month ?? 1) - 1,
    parts.day ?? 1,
    parts.hour ?? 0,
    parts.minute ?? 0,
    parts.second ?? 0,
  );
  return asUtc - Math.floor(instant / 1000) * 1000;
}

function datePart(dateTime: string | null | undefined): string | null {
  const match = /^\d{4}-\d{2}-\d{2}/.exec(dateTime?.trim() ?? '');
  return match ? match[0] : null;
}

// ---- Body --------------------------------------------------------------------------------------

function bodyText(body: GraphEvent['body']): string | null {
  const content = body?.content;
  if (!content) return null;
  const text = body?.contentType?.toLowerCase() === 'html' ? htmlToText(content) : content;
  return text === '' ? null : text;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

/**
 * Minimal HTML → text for event bodies (the adapter asks for text, but not every answer honours
 * `outlook.body-content-type`): drops head/style/script and comments, turns line-level tags into
 * line breaks, strips the rest, decodes entities once.
 */
export function htmlToText(html: string): string {
  const stripped = html
    .replace(/<(head|style|script)\b[^>]*>[\s\S]*?<\/\1\s*>/gi, '')
    .replace(/<!--[\s\S]*?-->/g, '')
    .replace(/<br\s*\/?>/gi, '\n')
    .replace(/<\/(p|div|li|tr|h[1-6])\s*>/gi, '\n')
    .replace(/<[^>]*>/g, '')
    .replace(/\r\n?/g, '\n');
  const decoded = stripped.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (entity, name: string) => {
    if (name[0] === '#') {
      const code = name[1] === 'x' || name[1] === 'X' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
      return Number.isFinite(code) && code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : entity;
    }
    return ENTITIES[name.toLowerCase()] ?? entity;
  });
  return decoded
    .replace(/[ \t\u00a0]+\n/g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}
