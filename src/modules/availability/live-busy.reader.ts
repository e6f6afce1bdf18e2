import { Injectable } from '@nestjs/common';
import { CredentialAuthFactory } from '../connections/index.js';
import { CalendarProviders } from '../providers/calendar-provider.port.js';
import type { Interval } from './domain/intervals.js';

/** A calendar to read live. */
export interface LiveCalendarRef {
  credentialId: number;
  externalId: string;
}

/**
 * Busy times straight from the providers: one call per credential, for all of its calendars, the
 * credentials in parallel. A provider error fails the read (a calendar that cannot be read must
 * not look free).
 */
@Injectable()
export class LiveBusyReader {
  constructor(
    private readonly providers: CalendarProviders,
    private readonly credentials: CredentialAuthFactory,
  ) {}

  /** Busy intervals (epoch ms, unmerged) of the calendars over [from, to). */
  async read(calendars: LiveCalendarRef[], from: number, to: number, timeZone: string): Promise<Interval[]> {
    const byCredential = new Map<number, LiveCalendarRef[]>();
    for (const c of calendars) byCredential.set(c.credentialId, [...(byCredential.get(c.credentialId) ?? []), c]);
    const results = await Promise.all(
      [...byCredential.entries()].map(async ([credentialId, group]) => {
        const { credential, auth } = await this.credentials.open(credentialId);
        const busy = await this.providers.get(credential.provider).busyTimes(
          auth,
          group.map((c) => c.externalId),
          { start: new Date(from), end: new Date(to), timeZone },
        );
        return [...busy.values()].flat().map((b) => ({ start: b.start.getTime(), end: b.end.getTime() }));
      }),
    );
    return results.flat();
  }

  /**
   * The busy events of one calendar overlapping [from, to), each with its id (epoch ms): for a
   * calendar where some events must be left out (a booking's own event), which a free/busy answer
   * cannot do. A plain listing of that window (`eventsIn`: Google's events.list, Graph's
   * calendarView), not a sync listing: it starts no delta round at Graph.
   */
  async busyEvents(calendar: LiveCalendarRef, from: number, to: number): Promise<Array<Interval & { id: string }>> {
    const { credential, auth } = await this.credentials.open(calendar.credentialId);
    const listed = await this.providers
      .get(credential.provider)
      .eventsIn(auth, calendar.externalId, { start: new Date(from), end: new Date(to) });
    const events: Array<Interval & { id: string }> = [];
    for (const e of listed) {
      if (!e.busy || !e.start || !e.end || e.status === 'cancelled') continue;
      if (e.start.getTime() < to && e.end.getTime() > from)
        events.push({ id: e.id, start: e.start.getTime(), end: e.end.getTime() });
    }
    return events;
  }
}
