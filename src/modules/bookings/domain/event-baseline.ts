import type { ExternalEvent } from '../../providers/external-event.js';

/**
 * The fields of a calendar event that calsync compares, as last written by calsync or accepted from
 * the provider. A provider change is whatever differs from this.
 */
export interface EventBaseline {
  start: string;
  end: string;
  title: string;
  description: string | null;
  location: string | null;
  attendees: Array<{ email: string; name: string | null }>;
  etag: string | null;
  updated: string | null;
  sequence: number | null;
  /**
   * The booking's event is a series master (the host made it recurring): its instances are not
   * the booking's event, the series' start is (see `SyncCalendarService.resolveSeries`).
   */
  series?: true;
}

/** Guests only: the organizer (the host) and rooms are not the booking's attendees. */
export function guestsOf(event: ExternalEvent): Array<{ email: string; name: string | null }> {
  return event.attendees
    .filter((a) => !a.resource && !a.organizer && a.email !== event.organizerEmail)
    .map((a) => ({ email: a.email.toLowerCase(), name: a.name }))
    .sort((a, b) => a.email.localeCompare(b.email));
}

export function baselineOf(event: ExternalEvent): EventBaseline {
  return {
    start: (event.start ?? new Date(0)).toISOString(),
    end: (event.end ?? new Date(0)).toISOString(),
    title: event.title ?? '',
    description: event.description || null,
    location: event.location || null,
    attendees: guestsOf(event),
    etag: event.etag,
    updated: event.updated,
    sequence: event.sequence,
    ...(event.recurring ? { series: true as const } : {}),
  };
}
