import type { ProviderName } from '../../../config/app-config.js';

/** `held`: waiting for a person; then what the person decided. */
export type HeldChangesStatus = 'held' | 'confirmed' | 'discarded';
export const HELD_CHANGES_STATUSES: readonly HeldChangesStatus[] = ['held', 'confirmed', 'discarded'];

/**
 * What became of one held change: null while its hold is open; `cancelled` (confirmed and
 * applied), `pending` (confirmed, its command not run yet), `ignored: …` (confirmed, but the
 * booking rule refused it: already cancelled, already ended), `kept: the event exists again in the
 * calendar` (confirmed, but a get found the event live), or `discarded`.
 */
export type HeldChangeOutcome = string;

/** One hold as the admin API shows it (`GET /api/v1/admin/held-changes`). */
export interface HeldChangesView {
  id: number;
  status: HeldChangesStatus;
  selectedCalendarId: number | null;
  userId: number;
  provider: ProviderName;
  externalCalendarId: string;
  /** How many cancellations the sync run would have made. */
  count: number;
  reason: string;
  createdAt: string;
  resolvedAt: string | null;
  changes: Array<{
    bookingId: number;
    /** What the sync would have done to the booking. */
    action: 'cancel';
    title: string;
    startTime: string;
    endTime: string;
    bookingStatus: 'accepted' | 'cancelled';
    detectedAt: string;
    resolvedAt: string | null;
    outcome: HeldChangeOutcome | null;
  }>;
}
