/** What a booking command did: the result of every command that changes a booking. */
export interface BookingChangeOutcome {
  bookingId: number;
  /** false when the booking already was in the asked state, or the change was refused by a rule. */
  changed: boolean;
  reason?: string;
}
