import { Controller, Get, Injectable, Module, type OnModuleInit, Param } from '@nestjs/common';
import { ApiTags, ApiOkResponse, ApiOperation } from '@nestjs/swagger';
import { DataSource } from 'typeorm';
import { ApiKeyProtected, type HostEventEnvelope, HostEventSubscriptions, IdParamPipe } from '../../index.js';

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
    private readonly dataSource: DataSource,
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
    await this.dataSource.query(
      `INSERT INTO "AuditTrailReschedule" ("eventId", "bookingId", "source", "fromStart", "toStart", "fromEnd", "toEnd", "at")
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT ("eventId") DO NOTHING`,
      [
        event.id,
        data.booking.id,
        data.source,
        data.changes.startTime?.from ?? null,
        data.changes.startTime?.to ?? null,
        data.changes.endTime?.from ?? null,
        data.changes.endTime?.to ?? null,
        event.timestamp,
      ],
    );
  }
}

@ApiTags('extensions: audit trail')
@ApiKeyProtected()
@Controller('api/v1/extensions/audit-trail')
export class AuditTrailController {
  constructor(private readonly dataSource: DataSource) {}

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
    const rows: Array<{ eventId: string; source: string; fromStart: Date | null; toStart: Date | null; at: Date }> =
      await this.dataSource.query(
        `SELECT "eventId", "source", "fromStart", "toStart", "at" FROM "AuditTrailReschedule"
          WHERE "bookingId" = $1 ORDER BY "at", "eventId"`,
        [bookingId],
      );
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

@Module({ controllers: [AuditTrailController], providers: [AuditTrailRecorder] })
export class AuditTrailModule {}
