import type { ExternalChangeKind } from '../entities/external-event-change.entity.js';

/** The kinds of change that touch a group of fields (a deletion touches the booking as a whole). */
export type FieldChangeKind = Exclude<ExternalChangeKind, 'deleted'>;

/**
 * SQL: whether the history entry aliased `h` changed the fields of `kind`. The one rule for "an
 * API change of the same fields": the outbox (BookingChangeApplier.claimChange) supersedes a
 * calendar change by it, and the write job settles a 412 by it (WriteBookingJob.resolveConflict);
 * the two must agree, or calendar and booking end apart.
 */
export function historyChangesKindSql(h: string, kind: FieldChangeKind): string {
  switch (kind) {
    case 'rescheduled':
      return `${h}."action" = 'rescheduled'`;
    case 'details':
      return `(${h}."action" = 'updated' AND ${h}."changes" ?| ARRAY['title', 'description', 'location'])`;
    case 'attendees':
      return `(${h}."action" = 'updated' AND ${h}."changes" ? 'attendees')`;
  }
}
