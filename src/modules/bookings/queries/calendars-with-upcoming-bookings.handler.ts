import { type IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { DataSource } from 'typeorm';
import { type CalendarRef, CalendarsWithUpcomingBookingsQuery } from './calendars-with-upcoming-bookings.query.js';

@QueryHandler(CalendarsWithUpcomingBookingsQuery)
export class CalendarsWithUpcomingBookingsHandler implements IQueryHandler<CalendarsWithUpcomingBookingsQuery> {
  constructor(private readonly dataSource: DataSource) {}

  async execute({ calendars }: CalendarsWithUpcomingBookingsQuery): Promise<CalendarRef[]> {
    if (calendars.length === 0) return [];
    // One index probe per calendar ("BookingReference_external_idx"), as many calendars as asked.
    return this.dataSource.query(
      `SELECT c."credentialId", c."externalCalendarId"
         FROM unnest($1::int[], $2::text[]) AS c("credentialId", "externalCalendarId")
        WHERE EXISTS (SELECT 1 FROM "BookingReference" r JOIN "Booking" b ON b."id" = r."bookingId"
                       WHERE r."credentialId" = c."credentialId" AND r."externalCalendarId" = c."externalCalendarId"
                         AND r."deletedAt" IS NULL AND b."status" = 'accepted' AND b."endTime" > now())`,
      [calendars.map((c) => c.credentialId), calendars.map((c) => c.externalCalendarId)],
    );
  }
}
