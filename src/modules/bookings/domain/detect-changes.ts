import type { ExternalEvent } from '../../providers/external-event.js';
import { type EventBaseline, baselineOf } from './event-baseline.js';

export interface DetectedChanges {
  rescheduled?: { startTime: string; endTime: string };
  details?: { title?: string; description?: string | null; location?: string | null };
  attendees?: Array<{ email: string; name: string | null }>;
  /** The provider's version is older than what calsync already has: a reordered or stale read. */
  stale?: boolean;
}

/**
 * What a provider event changed relative to the stored baseline. Only differences count: the echo
 * of calsync's own write equals the baseline and yields nothing.
 */
export function detectChanges(baseline: EventBaseline, event: ExternalEvent): DetectedChanges {
  if (baseline.etag && event.etag && baseline.etag === event.etag) return {};
  if (isOlder(event, baseline)) return { stale: true };
  const next = baselineOf(event);
  const changes: DetectedChanges = {};
  if (next.start !== baseline.start || next.end !== baseline.end) {
    changes.rescheduled = { startTime: next.start, endTime: next.end };
  }
  const details: NonNullable<DetectedChanges['details']> = {};
  if (next.title !== baseline.title) details.title = next.title;
  if (next.description !== baseline.description) details.description = next.description;
  if (next.location !== baseline.location) details.location = next.location;
  if (Object.keys(details).length > 0) changes.details = details;
  const key = (list: EventBaseline['attendees']) =>
    list
      .map((a) => a.email)
      .sort()
      .join('\n');
  if (key(next.attendees) !== key(baseline.attendees)) changes.attendees = next.attendees;
  return changes;
}

function isOlder(event: ExternalEvent, baseline: EventBaseline): boolean {
  if (event.updated && baseline.updated) {
    const a = Date.parse(event.updated);
    const b = Date.parse(baseline.updated);
    if (!Number.isNaN(a) && !Number.isNaN(b) && a < b) return true;
  }
  if (event.sequence !== null && baseline.sequence !== null && event.sequence < baseline.sequence) return true;
  return false;
}
