import { Injectable } from '@nestjs/common';
import { type ICommand, type IEvent, Saga, ofType } from '@nestjs/cqrs';
import { Observable, map } from 'rxjs';
import type { ProviderName } from '../../../config/app-config.js';
import { PROVIDER_LABELS } from '../../providers/provider-names.js';
import { CancelBookingCommand } from '../commands/cancel-booking.command.js';
import { RescheduleBookingCommand } from '../commands/reschedule-booking.command.js';
import { UpdateBookingAttendeesCommand } from '../commands/update-booking-attendees.command.js';
import { UpdateBookingDetailsCommand } from '../commands/update-booking-details.command.js';
import { EventAttendeesChanged, EventDeleted, EventDetailsChanged, EventRescheduled } from '../events/external-event.events.js';

/** The cancellation reason of a booking whose event was deleted in the calendar. */
export function deletionReason(source: ProviderName): string {
  return `The event was deleted in ${PROVIDER_LABELS[source] ?? source}`;
}

/** Pure event → command maps; the commands do the work idempotently. */
@Injectable()
export class BookingSyncSagas {
  @Saga()
  rescheduled = (events$: Observable<IEvent>): Observable<ICommand> =>
    events$.pipe(
      ofType(EventRescheduled),
      map(
        (e) =>
          new RescheduleBookingCommand(
            e.bookingId,
            new Date(e.startTime),
            new Date(e.endTime),
            e.source,
            e.changeId,
            undefined,
            e.calendarUserId,
          ),
      ),
    );

  @Saga()
  deleted = (events$: Observable<IEvent>): Observable<ICommand> =>
    events$.pipe(
      ofType(EventDeleted),
      map((e) => new CancelBookingCommand(e.bookingId, deletionReason(e.source), e.source, e.changeId)),
    );

  @Saga()
  detailsChanged = (events$: Observable<IEvent>): Observable<ICommand> =>
    events$.pipe(
      ofType(EventDetailsChanged),
      map((e) => new UpdateBookingDetailsCommand(e.bookingId, e.details, e.source, e.changeId)),
    );

  @Saga()
  attendeesChanged = (events$: Observable<IEvent>): Observable<ICommand> =>
    events$.pipe(
      ofType(EventAttendeesChanged),
      map((e) => new UpdateBookingAttendeesCommand(e.bookingId, e.attendees, e.source, e.changeId)),
    );
}
