import { Query } from '@nestjs/cqrs';
import type { Page } from '../../../common/pagination/pagination.js';
import type { BookingView } from '../booking-view.js';
import type { BookingStatus } from '../entities/booking.entity.js';

/**
 * One page of bookings in ("updatedAt", id) order, optionally of one host, in one status, or
 * changed at or after `updatedSince`; `after` is the previous page's `nextCursor`.
 */
export class ListBookingsQuery extends Query<Page<BookingView>> {
  constructor(
    readonly filter: { userId?: number; status?: BookingStatus; updatedSince?: Date },
    readonly page: { limit: number; after?: string } = { limit: 50 },
  ) {
    super();
  }
}
