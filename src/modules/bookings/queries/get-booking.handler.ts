import { NotFoundException } from '@nestjs/common';
import { type IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { DataSource } from 'typeorm';
import { type BookingView, BookingsRepository } from '../bookings.repository.js';
import { BookingEntity } from '../entities/booking.entity.js';
import { GetBookingQuery, ListBookingsQuery } from './get-booking.query.js';

@QueryHandler(GetBookingQuery)
export class GetBookingHandler implements IQueryHandler<GetBookingQuery> {
  constructor(private readonly bookings: BookingsRepository) {}

  async execute({ bookingId }: GetBookingQuery): Promise<BookingView> {
    const view = await this.bookings.view(bookingId);
    if (!view) throw new NotFoundException(`Booking ${bookingId} not found`);
    return view;
  }
}

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
      take: 1000,
    });
    return this.bookings.views(rows.map((r) => r.id));
  }
}
