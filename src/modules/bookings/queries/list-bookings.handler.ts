import { type IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { DataSource } from 'typeorm';
import { type Page, decodeCursor, pageFrom } from '../../../common/pagination/pagination.js';
import type { BookingView } from '../booking-view.js';
import { BookingsRepository } from '../bookings.repository.js';
import { ListBookingsQuery } from './list-bookings.query.js';

const CURSOR_KIND = 'bookings';
/** "updatedAt" as an exact string: a JS Date would drop PostgreSQL's microseconds and break the keyset. */
const EXACT_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

/**
 * Keyset walk on ("updatedAt", id) (index "Booking_updatedAt_id_idx"): a booking changed while a
 * client walks moves to the end and is seen again, none is skipped. Every booking change moves
 * "updatedAt" (BookingChangeApplier), so `updatedSince` finds attendee edits too.
 */
@QueryHandler(ListBookingsQuery)
export class ListBookingsHandler implements IQueryHandler<ListBookingsQuery> {
  constructor(
    private readonly dataSource: DataSource,
    private readonly bookings: BookingsRepository,
  ) {}

  async execute({ filter, page }: ListBookingsQuery): Promise<Page<BookingView>> {
    const position = decodeCursor(CURSOR_KIND, page.after, [(v) => typeof v === 'string' && EXACT_INSTANT.test(v), 'id']);
    const params: unknown[] = [];
    const where: string[] = [];
    const param = (value: unknown) => {
      params.push(value);
      return `$${params.length}`;
    };
    if (filter.userId !== undefined) where.push(`"userId" = ${param(filter.userId)}`);
    if (filter.status !== undefined) where.push(`"status" = ${param(filter.status)}`);
    if (filter.updatedSince !== undefined) where.push(`"updatedAt" >= ${param(filter.updatedSince.toISOString())}::timestamptz`);
    if (position) where.push(`("updatedAt", "id") > (${param(position[0])}::timestamptz, ${param(position[1])}::int)`);
    const rows: Array<{ id: number; updatedAt: string }> = await this.dataSource.query(
      `SELECT "id", to_char("updatedAt" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS "updatedAt"
         FROM "Booking"
        ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY "updatedAt", "id"
        LIMIT ${param(page.limit + 1)}`,
      params,
    );
    const result = pageFrom(CURSOR_KIND, rows, page.limit, (r) => [r.updatedAt, r.id]);
    const views = new Map((await this.bookings.views(result.items.map((r) => r.id))).map((v) => [v.id, v]));
    // A booking deleted between the two reads (its user was) is left out rather than answered half.
    const items = result.items.map((r) => views.get(r.id)).filter((v): v is BookingView => v !== undefined);
    return { items, nextCursor: result.nextCursor };
  }
}
