import { ApiProperty, ApiSchema } from '@nestjs/swagger';
import { DATE_TIME } from '../../../common/openapi/responses.js';
import { PROVIDER_NAMES } from '../../providers/provider-names.js';
import type { BookingView } from '../booking-view.js';
import type { ChangeSource, HistoryAction } from '../entities/booking-history.entity.js';
import type { HeldChangesView } from '../held-changes/held-changes-view.js';

/** OpenAPI schemas of what the bookings routes answer (`implements` keeps them in step with the views). */

@ApiSchema({ name: 'BookingAttendee' })
export class BookingAttendeeResponse {
  @ApiProperty({ example: 'guest@example.com' })
  email!: string;

  @ApiProperty({ type: String, nullable: true })
  name!: string | null;
}

@ApiSchema({ name: 'BookingReference', description: 'The calendar event a booking is written to' })
export class BookingReferenceResponse {
  @ApiProperty({ enum: PROVIDER_NAMES })
  provider!: string;

  @ApiProperty()
  externalCalendarId!: string;

  @ApiProperty()
  externalEventId!: string;

  @ApiProperty({ type: String, nullable: true })
  iCalUID!: string | null;
}

const ACTIONS: HistoryAction[] = ['created', 'rescheduled', 'cancelled', 'updated', 'ignored', 'reverted'];
const SOURCES: ChangeSource[] = ['api', ...PROVIDER_NAMES];

@ApiSchema({
  name: 'BookingPendingChange',
  description: 'A conflicting calendar reschedule held for the host app (conflictPolicy flag): accept or reject it',
})
export class BookingPendingChangeResponse {
  @ApiProperty(DATE_TIME)
  startTime!: string;

  @ApiProperty(DATE_TIME)
  endTime!: string;

  @ApiProperty({ enum: PROVIDER_NAMES, description: 'the calendar the host moved the event in' })
  source!: ChangeSource;
}

@ApiSchema({ name: 'BookingHistoryEntry' })
export class BookingHistoryResponse {
  @ApiProperty(DATE_TIME)
  at!: string;

  @ApiProperty({ enum: ACTIONS })
  action!: HistoryAction;

  @ApiProperty({ enum: SOURCES, description: 'who made the change: the API or the host in a calendar' })
  source!: ChangeSource;

  @ApiProperty({ type: 'object', additionalProperties: true, description: 'the fields that changed, from → to' })
  changes!: Record<string, unknown>;
}

@ApiSchema({ name: 'Booking' })
export class BookingResponse implements BookingView {
  @ApiProperty()
  id!: number;

  @ApiProperty()
  uid!: string;

  @ApiProperty()
  userId!: number;

  @ApiProperty()
  title!: string;

  @ApiProperty({ type: String, nullable: true })
  description!: string | null;

  @ApiProperty({ type: String, nullable: true })
  location!: string | null;

  @ApiProperty(DATE_TIME)
  startTime!: string;

  @ApiProperty(DATE_TIME)
  endTime!: string;

  @ApiProperty({ enum: ['accepted', 'cancelled'] })
  status!: string;

  @ApiProperty({ type: String, nullable: true })
  cancellationReason!: string | null;

  @ApiProperty({
    description:
      'true while the booking overlaps another accepted booking or busy time of the host because a conflicting ' +
      'calendar reschedule was accepted; false again once it moves to a free time',
  })
  conflict!: boolean;

  @ApiProperty({ type: BookingPendingChangeResponse, nullable: true })
  pendingChange!: BookingPendingChangeResponse | null;

  @ApiProperty({ type: [BookingAttendeeResponse] })
  attendees!: BookingAttendeeResponse[];

  @ApiProperty({ type: [BookingReferenceResponse] })
  references!: BookingReferenceResponse[];

  @ApiProperty({ type: [BookingHistoryResponse] })
  history!: BookingHistoryResponse[];

  @ApiProperty(DATE_TIME)
  createdAt!: string;

  @ApiProperty(DATE_TIME)
  updatedAt!: string;
}

type HeldChange = HeldChangesView['changes'][number];

@ApiSchema({ name: 'HeldChange', description: 'One booking change a held sync run would have made' })
export class HeldChangeResponse implements HeldChange {
  @ApiProperty()
  bookingId!: number;

  @ApiProperty({ enum: ['cancel'] })
  action!: 'cancel';

  @ApiProperty()
  title!: string;

  @ApiProperty(DATE_TIME)
  startTime!: string;

  @ApiProperty(DATE_TIME)
  endTime!: string;

  @ApiProperty({ enum: ['accepted', 'cancelled'] })
  bookingStatus!: 'accepted' | 'cancelled';

  @ApiProperty(DATE_TIME)
  detectedAt!: string;

  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  resolvedAt!: string | null;

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'null while held; then cancelled, pending, ignored: …, kept: … or discarded',
  })
  outcome!: string | null;
}

@ApiSchema({ name: 'HeldChanges', description: 'A sync run held for a person because it would cancel many bookings' })
export class HeldChangesResponse implements HeldChangesView {
  @ApiProperty()
  id!: number;

  @ApiProperty({ enum: ['held', 'confirmed', 'discarded'] })
  status!: HeldChangesView['status'];

  @ApiProperty({ type: Number, nullable: true })
  selectedCalendarId!: number | null;

  @ApiProperty()
  userId!: number;

  @ApiProperty({ enum: PROVIDER_NAMES })
  provider!: HeldChangesView['provider'];

  @ApiProperty()
  externalCalendarId!: string;

  @ApiProperty({ description: 'how many cancellations the sync run would have made' })
  count!: number;

  @ApiProperty()
  reason!: string;

  @ApiProperty(DATE_TIME)
  createdAt!: string;

  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  resolvedAt!: string | null;

  @ApiProperty({ type: [HeldChangeResponse] })
  changes!: HeldChangeResponse[];
}
