import { type IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { DataSource } from 'typeorm';
import { type BookingCalendarRef, UnfollowedBookingCalendarsQuery } from './unfollowed-booking-calendars.query.js';

@QueryHandler(UnfollowedBookingCalendarsQuery)
export class UnfollowedBookingCalendarsHandler implements IQueryHandler<UnfollowedBookingCalendarsQuery> {
  constructor(private readonly dataSource: DataSource) {}

  async execute(): Promise<BookingCalendarRef[]> {
    // One pass over the bookings (once per sweep, every RESYNC_INTERVAL_SECONDS), and one probe of
    // SelectedCalendar's unique (credentialId, externalId) per upcoming booking's reference.
    return this.dataSource.query(
      `SELECT DISTINCT b."userId", r."credentialId", r."externalCalendarId"
         FROM "Booking" b JOIN "BookingReference" r ON r."bookingId" = b."id"
        WHERE b."status" = 'accepted' AND b."endTime" > now() AND r."deletedAt" IS NULL AND r."credentialId" IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM "SelectedCalendar" s
                           WHERE s."credentialId" = r."credentialId" AND s."externalId" = r."externalCalendarId")`,
    );
  }
}
