import { type IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { DataSource } from 'typeorm';
import type { BookingView } from '../booking-view.js';
import { BookingsRepository } from '../bookings.repository.js';
import { BookingEntity } from '../entities/booking.entity.js';
import { ListBookingsQuery } from './list-bookings.query.js';

/** A list answers at most this many bookings. */
export const LIST_BOOKINGS_LIMIT = 1000;

@QueryHandler(ListBookingsQuery)
export class ListBookingsHandler implements IQueryHandler<ListBookingsQuery> {
  constructor(
    private readonly dataSource: DataSource,
    private readonly bookings: BookingsRepository,
  ) {}

  async execute({ filter }: ListBookingsQuery): Promise<BookingView[]> {
    const rows = await this.dataSource.manager.find(BookingEntity, {
      select: { id: true },
      where: { ...(filter.userId ? { userId: filter.userId } : {}), ...(filter.status ? { status: filter.status } : {}) },
      order: { startTime: 'ASC', id: 'ASC' },
      take: LIST_BOOKINGS_LIMIT,
    });
    return this.bookings.views(rows.map((r) => r.id));
  }
}
