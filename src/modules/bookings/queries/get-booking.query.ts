import { Query } from '@nestjs/cqrs';
import type { BookingView } from '../booking-view.js';

/** Resolves to the booking, or throws `BookingNotFoundError`. */
export class GetBookingQuery extends Query<BookingView> {
  constructor(readonly bookingId: number) {
    super();
  }
}
