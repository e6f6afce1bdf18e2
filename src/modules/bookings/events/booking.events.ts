import type { ChangeSource } from '../entities/booking-history.entity.js';

export class BookingCreated {
  constructor(
    readonly bookingId: number,
    readonly userId: number,
  ) {}
}

export class BookingRescheduled {
  constructor(
    readonly bookingId: number,
    readonly source: ChangeSource,
    readonly from: { startTime: string; endTime: string },
    readonly to: { startTime: string; endTime: string },
  ) {}
}

export class BookingCancelled {
  constructor(
    readonly bookingId: number,
    readonly source: ChangeSource,
    readonly reason: string | null,
  ) {}
}

export class BookingUpdated {
  constructor(
    readonly bookingId: number,
    readonly source: ChangeSource,
    readonly changes: Record<string, unknown>,
  ) {}
}
