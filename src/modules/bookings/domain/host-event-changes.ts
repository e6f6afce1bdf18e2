import type { BookingView } from '../booking-view.js';

/** The booking events a history action becomes for the host (actions not listed tell the host nothing). */
export const HOST_EVENT_OF_ACTION: Readonly<
  Record<string, 'booking.created' | 'booking.rescheduled' | 'booking.cancelled' | 'booking.updated'>
> = {
  created: 'booking.created',
  rescheduled: 'booking.rescheduled',
  cancelled: 'booking.cancelled',
  updated: 'booking.updated',
};

export type FieldChanges = Record<string, { from: unknown; to: unknown }>;

type Booking = Omit<BookingView, 'history'>;

/** Whether `fieldChanges` needs the booking as it is after the change (a creation, an attendee change). */
export function fieldChangesNeedBooking(action: string, changes: Record<string, unknown>): boolean {
  return action === 'created' || (action === 'updated' && 'attendees' in changes);
}

/**
 * A history entry's `changes` (each action has its own shape, kept for the history) as the host
 * events' `{<field>: {from, to}}`, given the booking as it is after the change (only read when
 * `fieldChangesNeedBooking`).
 */
export function fieldChanges(action: string, changes: Record<string, unknown>, after?: Booking): FieldChanges {
  if (!after && fieldChangesNeedBooking(action, changes)) throw new Error(`fieldChanges: the booking is needed for ${action}`);
  switch (action) {
    case 'created':
      return {
        startTime: { from: null, to: after!.startTime },
        endTime: { from: null, to: after!.endTime },
      };
    case 'rescheduled': {
      const from = (changes.from ?? {}) as Record<string, string>;
      const to = (changes.to ?? {}) as Record<string, string>;
      const result: FieldChanges = {};
      for (const field of ['startTime', 'endTime']) {
        if (from[field] !== to[field]) result[field] = { from: from[field] ?? null, to: to[field] ?? null };
      }
      return result;
    }
    case 'cancelled':
      return {
        status: { from: 'accepted', to: 'cancelled' },
        cancellationReason: { from: null, to: (changes.reason as string | null | undefined) ?? null },
      };
    case 'updated': {
      const result: FieldChanges = {};
      for (const [field, change] of Object.entries(changes)) {
        if (field === 'attendees') {
          const { added = [], removed = [] } = change as { added?: string[]; removed?: string[] };
          const now = after!.attendees.map((a) => a.email);
          const before = [...now.filter((email) => !added.includes(email)), ...removed];
          result.attendees = { from: before, to: now };
        } else if (change && typeof change === 'object' && 'from' in change && 'to' in change) {
          result[field] = { from: (change as { from: unknown }).from, to: (change as { to: unknown }).to };
        }
      }
      return result;
    }
    default:
      return {};
  }
}
