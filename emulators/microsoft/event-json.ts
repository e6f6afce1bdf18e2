import { etagOf, NEVER, type StoredEvent } from './event-store.js';
import { occurrenceICalUId, occurrenceId } from './ids.js';
import type { Occurrence } from './recurrence.js';
import { formatFloating, formatUtcStamp, utcToFloating } from './time.js';
import type { GraphEvent } from './types.js';

/** Stored records and generated occurrences as Graph writes them, in the zone the caller prefers. */

export interface RenderContext {
  /** Zone name written in start/end.timeZone (as the client spelt it in Prefer: outlook.timezone). */
  zoneName: string;
  /** IANA zone used to compute the wall-clock times. */
  zone: string;
  /** Prefer: outlook.body-content-type="text". */
  textBody: boolean;
  ownerEmail: string;
  ownerName: string;
}

export const UTC_CONTEXT = { zoneName: 'UTC', zone: 'UTC', textBody: false };

export function renderEvent(rec: StoredEvent, occurrence: Occurrence | undefined, ctx: RenderContext): GraphEvent {
  const f = rec.fields;
  const organizer = f.organizer ?? { emailAddress: { name: ctx.ownerName, address: ctx.ownerEmail } };
  const isOrganizer = organizer.emailAddress.address.toLowerCase() === ctx.ownerEmail.toLowerCase();
  const startMs = occurrence ? occurrence.startMs : rec.startMs;
  const endMs = occurrence ? occurrence.endMs : rec.endMs;
  const floatingStart = occurrence ? occurrence.floatingStartMs : rec.startFloatingMs;
  const floatingEnd = floatingStart + (rec.endFloatingMs - rec.startFloatingMs);
  const wallTime = (ms: number, floating: number): string => formatFloating(f.isAllDay ? floating : utcToFloating(ms, ctx.zone));
  const id = occurrence ? occurrenceId(rec.id, occurrence.startMs) : rec.id;
  const type = occurrence
    ? 'occurrence'
    : rec.masterId !== undefined
      ? 'exception'
      : rec.recurrence
        ? 'seriesMaster'
        : 'singleInstance';
  let iCalUId = rec.iCalUId;
  if (type === 'occurrence' || type === 'exception') {
    const day = new Date(occurrence ? occurrence.floatingStartMs : utcToFloating(rec.originalStartMs as number, rec.zone));
    iCalUId = occurrenceICalUId(rec.iCalUId, day.getUTCFullYear(), day.getUTCMonth() + 1, day.getUTCDate());
  }
  const text = stripHtml(f.body.contentType === 'html' ? f.body.content : escapeless(f.body.content));
  const body = ctx.textBody && f.body.contentType === 'html' ? { contentType: 'text' as const, content: text } : { ...f.body };
  return {
    '@odata.etag': etagOf(rec.changeKey),
    id,
    createdDateTime: formatUtcStamp(rec.createdMs),
    lastModifiedDateTime: formatUtcStamp(rec.lastModifiedMs),
    changeKey: rec.changeKey,
    categories: [...f.categories],
    transactionId: f.transactionId,
    originalStartTimeZone: rec.start.timeZone,
    originalEndTimeZone: rec.end.timeZone,
    iCalUId,
    reminderMinutesBeforeStart: f.reminderMinutesBeforeStart,
    isReminderOn: f.isReminderOn,
    hasAttachments: false,
    subject: f.subject,
    bodyPreview: text.slice(0, 255),
    importance: f.importance,
    sensitivity: f.sensitivity,
    isAllDay: f.isAllDay,
    isCancelled: f.isCancelled,
    isOrganizer,
    responseRequested: true,
    seriesMasterId: type === 'occurrence' ? rec.id : type === 'exception' ? (rec.masterId as string) : null,
    showAs: f.showAs,
    type,
    webLink: `https://outlook.office365.com/owa/?itemid=${encodeURIComponent(id)}&exvsurl=1&path=/calendar/item`,
    isOnlineMeeting: false,
    onlineMeetingProvider: 'unknown',
    onlineMeeting: null,
    allowNewTimeProposals: true,
    isDraft: false,
    hideAttendees: false,
    responseStatus: f.responseStatus
      ? { ...f.responseStatus }
      : { response: isOrganizer ? 'organizer' : 'notResponded', time: NEVER },
    body,
    start: { dateTime: wallTime(startMs, floatingStart), timeZone: ctx.zoneName },
    end: { dateTime: wallTime(endMs, floatingEnd), timeZone: ctx.zoneName },
    location: {
      displayName: f.location.displayName,
      locationType: f.location.locationType ?? 'default',
      uniqueIdType: f.location.displayName ? 'private' : 'unknown',
      address: { ...f.location.address },
      coordinates: {},
    },
    locations: f.location.displayName
      ? [{ displayName: f.location.displayName, locationType: f.location.locationType ?? 'default' }]
      : [],
    recurrence: type === 'seriesMaster' ? structuredClone(rec.recurrence ?? null) : null,
    attendees: f.attendees.map((a) => ({ type: a.type, status: { ...a.status }, emailAddress: { ...a.emailAddress } })),
    organizer: { emailAddress: { ...organizer.emailAddress } },
  };
}

/** How a delta round reports an event that left the view or was deleted. */
export function removedEntry(id: string): object {
  return { '@odata.type': '#microsoft.graph.event', id, '@removed': { reason: 'deleted' } };
}

function stripHtml(html: string): string {
  return html
    .replace(/<(script|style)[^>]*>[\s\S]*?<\/\1>/gi, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&nbsp;/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ')
    .trim();
}

/** Text bodies go through stripHtml too (for the whitespace); keep their angle brackets intact. */
function escapeless(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
