import { Controller, Get, Injectable, Module, type OnModuleInit, Param } from '@nestjs/common';
import { ApiTags, ApiOkResponse, ApiOperation } from '@nestjs/swagger';
import { InjectRepository, TypeOrmModule } from '@nestjs/typeorm';
import { Column, Entity, Index, PrimaryColumn, type Repository } from 'typeorm';
import { ApiKeyProtected, type HostEventEnvelope, HostEventSubscriptions, IdParamPipe } from '../../index.js';

/**
 * A row of the extension's own table. An extension's entities are registered with
 * `TypeOrmModule.forFeature` in its module, beside calsync's; the table itself comes from a migration.
 */
@Entity('AuditTrailReschedule')
@Index('AuditTrailReschedule_bookingId_idx', ['bookingId', 'at'])
export class AuditTrailReschedule {
  /** The host event's id: a redelivered event is recorded once. */
  @PrimaryColumn({ type: 'text' })
  eventId!: string;

  @Column({ type: 'integer' })
  bookingId!: number;

  @Column({ type: 'text' })
  source!: string;

  @Column({ type: 'timestamptz', nullable: true })
  fromStart!: Date | null;

  @Column({ type: 'timestamptz', nullable: true })
  toStart!: Date | null;

  @Column({ type: 'timestamptz', nullable: true })
  fromEnd!: Date | null;

  @Column({ type: 'timestamptz', nullable: true })
  toEnd!: Date | null;

  /** When the reschedule happened (the event's timestamp). */
  @Column({ type: 'timestamptz' })
  at!: Date;

  @Column({ type: 'timestamptz', default: () => 'now()' })
  recordedAt!: Date;
}

/**
 * The example extension ("Extending calsync" in the README): an audit trail of every reschedule,
 * from the API or from a calendar, in a table of its own ("AuditTrailReschedule", created by
 * migration 1763800000012). It reacts to `booking.rescheduled` through the supported extension
 * point: durably (the events come from the outbox, in commit order, retried until the handler
 * succeeds) and at least once, so the insert deduplicates on the event id.
 */
@Injectable()
export class AuditTrailRecorder implements OnModuleInit {
  constructor(
    private readonly hostEvents: HostEventSubscriptions,
    @InjectRepository(AuditTrailReschedule) private readonly reschedules: Repository<AuditTrailReschedule>,
  ) {}

  onModuleInit(): void {
    this.hostEvents.onHostEvent('audit-trail', ['booking.rescheduled'], (event) => this.record(event));
  }

  private async record(event: HostEventEnvelope): Promise<void> {
    const data = event.data as {
      booking: { id: number };
      source: string;
      changes: { startTime?: { from: string; to: string }; endTime?: { from: string; to: string } };
    };
    await this.reschedules
      .createQueryBuilder()
      .insert()
      .values({
        eventId: event.id,
        bookingId: data.booking.id,
        source: data.source,
        fromStart: toDate(data.changes.startTime?.from),
        toStart: toDate(data.changes.startTime?.to),
        fromEnd: toDate(data.changes.endTime?.from),
        toEnd: toDate(data.changes.endTime?.to),
        at: new Date(event.timestamp),
      })
      .orIgnore() // ON CONFLICT DO NOTHING: the event was recorded already
      .execute();
  }
}

function toDate(value: string | undefined): Date | null {
  return value === undefined ? null : new Date(value);
}

@ApiTags('extensions: audit trail')
@ApiKeyProtected()
@Controller('api/v1/extensions/audit-trail')
export class AuditTrailController {
  constructor(@InjectRepository(AuditTrailReschedule) private readonly trail: Repository<AuditTrailReschedule>) {}

  /** A booking's reschedules, oldest first. */
  @ApiOperation({ operationId: 'listBookingReschedules' })
  @ApiOkResponse({
    schema: {
      type: 'object',
      required: ['items'],
      properties: {
        items: {
          type: 'array',
          items: {
            type: 'object',
            required: ['eventId', 'source', 'from', 'to', 'at'],
            properties: {
              eventId: { type: 'string' },
              source: { type: 'string' },
              from: { type: 'string', format: 'date-time', nullable: true },
              to: { type: 'string', format: 'date-time', nullable: true },
              at: { type: 'string', format: 'date-time' },
            },
          },
        },
      },
    },
  })
  @Get('bookings/:id/reschedules')
  async reschedules(@Param('id', IdParamPipe) bookingId: number) {
    const rows = await this.trail.find({
      select: { eventId: true, source: true, fromStart: true, toStart: true, at: true },
      where: { bookingId },
      order: { at: 'ASC', eventId: 'ASC' },
    });
    return {
      items: rows.map((r) => ({
        eventId: r.eventId,
        source: r.source,
        from: r.fromStart?.toISOString() ?? null,
        to: r.toStart?.toISOString() ?? null,
        at: r.at.toISOString(),
      })),
    };
  }
}

@Module({
  imports: [TypeOrmModule.forFeature([AuditTrailReschedule])],
  controllers: [AuditTrailController],
  providers: [AuditTrailRecorder],
})
export class AuditTrailModule {}
