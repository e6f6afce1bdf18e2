import type { EventInput, ExternalEvent } from './external-event.js';

/** An event's own fields as calsync last saw them (the version an update is based on). */
export interface EventFields {
  title: string;
  description: string | null;
  location: string | null;
  start: Date;
  end: Date;
}

/** Which of an event's own fields an update must write: those `input` changes from `before`; all without it. */
export interface FieldsToWrite {
  title: boolean;
  description: boolean;
  location: boolean;
  times: boolean;
}

/**
 * An update writes only what it changes. A field rewritten with the value it already had is not
 * harmless: the description calsync knows is the text of the host's body (an Outlook body is HTML,
 * with the Teams or Zoom link and the agenda's formatting), and Graph's location is an object
 * (address, coordinates, a room) of which calsync knows the display name only; writing them back
 * would turn the body into plain text and the location into a bare name on every reschedule.
 */
export function fieldsToWrite(input: EventInput, before: EventFields | null | undefined): FieldsToWrite {
  if (!before) return { title: true, description: true, location: true, times: true };
  return {
    title: input.title !== before.title,
    description: (input.description ?? '') !== (before.description ?? ''),
    location: (input.location ?? '') !== (before.location ?? ''),
    times: input.start.getTime() !== before.start.getTime() || input.end.getTime() !== before.end.getTime(),
  };
}

/** The fields of `event` as `EventFields`; null when its times are unknown (then everything is written). */
export function fieldsOf(event: ExternalEvent): EventFields | null {
  if (!event.start || !event.end) return null;
  return {
    title: event.title ?? '',
    description: event.description,
    location: event.location,
    start: event.start,
    end: event.end,
  };
}
