import { ConflictError, InvalidRequestError, NotFoundError } from '../../common/errors/domain-error.js';

export class BookingNotFoundError extends NotFoundError {
  constructor(readonly bookingId: number) {
    super(`Booking ${bookingId} not found`);
  }
}

/** A change asked through the API of a booking that is cancelled (changes from a calendar are ignored instead). */
export class BookingCancelledError extends ConflictError {
  constructor(readonly bookingId: number) {
    super(`Booking ${bookingId} is cancelled`);
  }
}

/** A booking needs a calendar to live in. */
export class NoDestinationCalendarError extends ConflictError {
  constructor(readonly userId: number) {
    super(`User ${userId} has no destination calendar; set one with PUT /api/v1/users/${userId}/destination-calendar`);
  }
}

export class DuplicateAttendeeError extends InvalidRequestError {
  constructor() {
    super('attendees must not repeat an email');
  }
}

/** No hold of held changes with this id. */
export class HeldChangesNotFoundError extends NotFoundError {
  constructor(readonly holdId: number) {
    super(`Held changes ${holdId} not found`);
  }
}

/** A hold a person already confirmed or discarded (the second of two racing admins gets this). */
export class HeldChangesResolvedError extends ConflictError {
  constructor(
    readonly holdId: number,
    readonly resolution: string,
  ) {
    super(`Held changes ${holdId} were already ${resolution}`);
  }
}

/** Accept or reject asked of a booking with no pending change (none was flagged, or it was resolved or replaced). */
export class NoPendingChangeError extends NotFoundError {
  constructor(readonly bookingId: number) {
    super(`Booking ${bookingId} has no pending change`);
  }
}

/** The host moved the event again after the pending change was flagged: the new time is being evaluated. */
export class PendingChangeMovedError extends ConflictError {
  constructor(readonly bookingId: number) {
    super(
      `The event of booking ${bookingId} was moved again in the calendar; its new time is being evaluated and replaces ` +
        'the pending change. Read the booking again.',
    );
  }
}
