import { Injectable, type Provider } from '@nestjs/common';
import { ConnectionsService, CredentialAuthFactory } from '../../connections/index.js';
import { CalendarProviders } from '../../providers/calendar-provider.port.js';
import type { ExternalEvent } from '../../providers/external-event.js';
import { ExternalChangeRecorder, type MovedEvent, type SyncedCalendar } from '../external-change.recorder.js';
import { BookingEventLocator } from './booking-event-locator.port.js';

/**
 * `BookingEventLocator` by the iCalUID calsync wrote into the booking's event: every calendar of
 * the host (other than the one reporting the deletion), in order, is asked for a live event with
 * that iCalUID; the first match is where the event went. A provider error is not "not found": it
 * fails the sync, which is retried, so a 429 never turns a move into a cancellation.
 */
@Injectable()
export class ICalUidBookingEventLocator implements BookingEventLocator {
  constructor(
    private readonly recorder: ExternalChangeRecorder,
    private readonly connections: ConnectionsService,
    private readonly credentials: CredentialAuthFactory,
    private readonly providers: CalendarProviders,
  ) {}

  async findMoves(calendar: SyncedCalendar, events: ExternalEvent[]): Promise<Map<string, MovedEvent>> {
    const moves = new Map<string, MovedEvent>();
    const deletions = await this.recorder.linkedDeletions(
      calendar,
      events.filter((e) => e.removal !== 'left_view'),
    );
    if (deletions.length === 0) return moves;
    const candidates = await this.connections.reachableCalendars(calendar.userId);
    for (const { eventId, iCalUID } of deletions) {
      if (!iCalUID) continue;
      for (const candidate of candidates) {
        if (candidate.credentialId === calendar.credentialId && candidate.calendarId === calendar.externalCalendarId) continue;
        const target = this.providers.get(candidate.provider);
        const auth = this.credentials.authFor(candidate.credential);
        const matches = await target.findByICalUID(auth, candidate.calendarId, iCalUID);
        if (matches.length > 0) {
          moves.set(eventId, {
            credentialId: candidate.credentialId,
            externalCalendarId: candidate.calendarId,
            event: matches[0],
          });
          break;
        }
      }
    }
    return moves;
  }
}

/** Binds the port to this implementation in BookingsModule. */
export const bookingEventLocatorProvider: Provider = { provide: BookingEventLocator, useClass: ICalUidBookingEventLocator };
