import type { calendar_v3 } from 'googleapis/build/src/apis/calendar/index.js';
import type { EventInput, ExternalEvent, ExternalEventStatus } from '../external-event.js';

/**
 * What `fromGoogleEvent` reads of an event, as a Google partial-response selection (`fields`):
 * listings ask for only this, not Google's whole event (links, creator, reminders, conference
 * data, attachments…), which is fewer bytes to download, parse and collect for every page. Keep it
 * beside the mapper: `google-event.mapper.spec.ts` fails when the mapper reads a field not named here.
 */
export const GOOGLE_EVENT_FIELDS =
  'id,iCalUID,status,start,end,transparency,summary,description,location,' +
  'attendees(email,displayName,responseStatus,organizer,resource,self),organizer/email,' +
  'recurringEventId,recurrence,etag,updated,sequence';

export function fromGoogleEvent(event: calendar_v3.Schema$Event): ExternalEvent {
  const status = (event.status ?? 'confirmed') as ExternalEventStatus;
  // An invitation the calendar's owner declined is free time, as Google's own freeBusy says.
  const declinedByOwner = (event.attendees ?? []).some((a) => a.self && a.responseStatus === 'declined');
  const allDay = Boolean(event.start?.date && !event.start?.dateTime);
  const start = toDate(event.start);
  const end = toDate(event.end);
  return {
    id: event.id ?? '',
    iCalUID: event.iCalUID ?? null,
    status,
    // Google's change listings report deletions (and only deletions) as cancelled entries.
    removal: status === 'cancelled' ? 'deleted' : null,
    start,
    end,
    isAllDay: allDay,
    startDate: allDay ? (event.start?.date ?? null) : null,
    endDate: allDay ? (event.end?.date ?? null) : null,
    busy: status !== 'cancelled' && event.transparency !== 'transparent' && !declinedByOwner && start !== null,
    title: event.summary ?? null,
    description: event.description ?? null,
    location: event.location ?? null,
    attendees: (event.attendees ?? [])
      .filter((a): a is calendar_v3.Schema$EventAttendee & { email: string } => Boolean(a.email))
      .map((a) => ({
        email: a.email.toLowerCase(),
        name: a.displayName ?? null,
        responseStatus: a.responseStatus ?? null,
        organizer: Boolean(a.organizer),
        resource: Boolean(a.resource),
      })),
    organizerEmail: event.organizer?.email?.toLowerCase() ?? null,
    recurringEventId: event.recurringEventId ?? null,
    recurring: Boolean(event.recurrence?.length),
    etag: event.etag ?? null,
    updated: event.updated ?? null,
    sequence: event.sequence ?? null,
  };
}

function toDate(time: calendar_v3.Schema$EventDateTime | undefined): Date | null {
  if (!time) return null;
  if (time.dateTime) return new Date(time.dateTime);
  // All-day: the date as UTC midnight; readers that care use startDate/endDate with a time zone.
  if (time.date) return new Date(`${time.date}T00:00:00.000Z`);
  return null;
}

export function toGoogleEventBody(input: EventInput): calendar_v3.Schema$Event {
  return {
    summary: input.title,
    description: input.description ?? '',
    location: input.location ?? '',
    start: { dateTime: input.start.toISOString(), timeZone: input.timeZone },
    end: { dateTime: input.end.toISOString(), timeZone: input.timeZone },
    attendees: input.attendees.map((a) => ({ email: a.email, ...(a.name ? { displayName: a.name } : {}) })),
  };
}

/** Google event ids use base32hex (a-v, 0-9); a UUID's hex digits already are. */
export function googleEventIdFor(key: string): string {
  return key.toLowerCase().replace(/[^a-v0-9]/g, '');
}
