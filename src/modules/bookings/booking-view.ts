import type { ChangeSource, HistoryAction } from './entities/booking-history.entity.js';

/** A booking as the API answers it: with its attendees, its calendar references and its history. */
export interface BookingView {
  id: number;
  uid: string;
  userId: number;
  title: string;
  description: string | null;
  location: string | null;
  startTime: string;
  endTime: string;
  status: string;
  cancellationReason: string | null;
  /** Overlaps another accepted booking or busy time of the host (a conflicting calendar reschedule accepted). */
  conflict: boolean;
  /** A conflicting calendar reschedule waiting for the host app (`conflictPolicy` flag). */
  pendingChange: { startTime: string; endTime: string; source: ChangeSource } | null;
  attendees: Array<{ email: string; name: string | null }>;
  references: Array<{ provider: string; externalCalendarId: string; externalEventId: string; iCalUID: string | null }>;
  history: Array<{ at: string; action: HistoryAction; source: ChangeSource; changes: Record<string, unknown> }>;
  createdAt: string;
  updatedAt: string;
}
