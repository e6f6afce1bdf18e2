import { Query } from '@nestjs/cqrs';
import type { BookingView } from '../bookings.repository.js';

export class GetBookingQuery extends Query<BookingView> {
  constructor(readonly bookingId: number) {
    super();
  }
}

export class ListBookingsQuery extends Query<BookingView[]> {
  constructor(readonly filter: { userId?: number; status?: 'accepted' | 'cancelled' }) {
    super();
  }
}
