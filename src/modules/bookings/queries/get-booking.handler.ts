import { type IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import type { BookingView } from '../booking-view.js';
import { BookingNotFoundError } from '../bookings.errors.js';
import { BookingsRepository } from '../bookings.repository.js';
import { GetBookingQuery } from './get-booking.query.js';

@QueryHandler(GetBookingQuery)
export class GetBookingHandler implements IQueryHandler<GetBookingQuery> {
  constructor(private readonly bookings: BookingsRepository) {}

  async execute({ bookingId }: GetBookingQuery): Promise<BookingView> {
    const view = await this.bookings.view(bookingId);
    if (!view) throw new BookingNotFoundError(bookingId);
    return view;
  }
}
