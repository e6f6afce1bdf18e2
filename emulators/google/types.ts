/** Shapes shared by the emulator's public API and its HTTP layer (Google Calendar v3 field names). */

export interface EmulatorOptions {
  port?: number;
  host?: string;
  /** Caps the expiry of watch channels, like Google's own (undocumented, shorter-than-asked) cap. */
  maxChannelTtlSeconds?: number;
  accessTokenTtlSeconds?: number;
  /**
   * Keep the state in this JSON file: loaded at start when it exists, written (debounced, to a temporary
   * file renamed over it) after changes and on stop.
   */
  stateFile?: string;
  /** Longest a change waits before the state file is written (default 200 ms). */
  saveDelayMs?: number;
}

export interface EventTime {
  dateTime?: string;
  date?: string;
  timeZone?: string;
}

export interface GoogleAttendee {
  email: string;
  displayName?: string;
  responseStatus?: string;
  organizer?: boolean;
  self?: boolean;
  optional?: boolean;
  resource?: boolean;
}

export interface GoogleEvent {
  kind: 'calendar#event';
  id: string;
  iCalUID: string;
  etag: string;
  status: 'confirmed' | 'tentative' | 'cancelled';
  summary?: string;
  description?: string;
  location?: string;
  start: EventTime;
  end: EventTime;
  transparency?: 'opaque' | 'transparent';
  attendees?: GoogleAttendee[];
  organizer?: { email: string; displayName?: string; self?: boolean };
  creator?: { email: string };
  recurrence?: string[];
  recurringEventId?: string;
  originalStartTime?: EventTime;
  sequence: number;
  created: string;
  updated: string;
  htmlLink: string;
  extendedProperties?: { private?: Record<string, string>; shared?: Record<string, string> };
}

/** What a caller may hand to createEvent/seedEvents/insert: everything optional but the times. */
export type EventInput = Partial<GoogleEvent> & { start: EventTime; end: EventTime };

export interface ChannelInfo {
  id: string;
  resourceId: string;
  calendarId: string;
  address: string;
  token?: string;
  expiration: number;
  stopped: boolean;
  messageNumber: number;
}

export type PushState = 'sync' | 'exists' | 'not_exists';

export interface PushLogEntry {
  at: number;
  channelId: string;
  state: string;
  messageNumber: number;
  status: number | 'dropped' | 'error';
}

export interface CallRecord {
  at: number;
  method: string;
  path: string;
  query: Record<string, string | string[]>;
  status: number;
  operation: string;
  /** Calendar the call addressed, resolved ('primary' → the account's email); absent for calendarList/freeBusy. */
  calendarId?: string;
}

export type OperationName =
  | 'calendarList.list'
  | 'calendarList.get'
  | 'calendars.get'
  | 'events.instances'
  | 'events.list'
  | 'events.get'
  | 'events.insert'
  | 'events.patch'
  | 'events.update'
  | 'events.delete'
  | 'events.move'
  | 'events.watch'
  | 'channels.stop'
  | 'freebusy.query'
  | 'token';

export interface BusyInterval {
  start: string;
  end: string;
}
