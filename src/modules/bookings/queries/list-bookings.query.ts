import { Query } from '@nestjs/cqrs';
import type { BookingView } from '../booking-view.js';
import type { BookingStatus } from '../entities/booking.entity.js';

/** Bookings by start time, optionally of one host or in one status; at most `LIST_BOOKINGS_LIMIT`. */
export class ListBookingsQuery extends Query<BookingView[]> {
  constructor(readonly filter: { userId?: number; status?: BookingStatus }) {
    super();
  }
}
