/** Shapes shared by the emulator's public API and its HTTP layer (Microsoft Graph v1.0 field names). */

export interface EmulatorOptions {
  port?: number;
  host?: string;
  /** Longest subscription lifetime accepted (Outlook events: 10,080 minutes); a later expirationDateTime is a 400. */
  maxSubscriptionMinutes?: number;
  accessTokenTtlSeconds?: number;
  /** JSON file the whole state (and the TLS CA) is loaded from at start and saved to after changes. */
  stateFile?: string;
  /** How long a receiver has to answer the validation handshake (Graph: 10 s). */
  validationTimeoutMs?: number;
  /**
   * Graph sends 2-4 notifications per edit; by default the emulator echoes each created/updated notification
   * once (created+updated, updated+updated). `false` sends exactly one per change.
   */
  echoNotifications?: boolean;
}

export interface DateTimeTimeZone {
  dateTime: string;
  timeZone: string;
}

export interface EmailAddress {
  address: string;
  name?: string;
}

export type ResponseType = 'none' | 'organizer' | 'tentativelyAccepted' | 'accepted' | 'declined' | 'notResponded';

export interface ResponseStatus {
  response: ResponseType;
  time?: string;
}

export interface Attendee {
  type?: 'required' | 'optional' | 'resource';
  emailAddress: EmailAddress;
  status?: ResponseStatus;
}

export type ShowAs = 'free' | 'tentative' | 'busy' | 'oof' | 'workingElsewhere' | 'unknown';
export type EventType = 'singleInstance' | 'occurrence' | 'exception' | 'seriesMaster';
export type DayOfWeek = 'sunday' | 'monday' | 'tuesday' | 'wednesday' | 'thursday' | 'friday' | 'saturday';

export interface RecurrencePattern {
  type: 'daily' | 'weekly' | 'absoluteMonthly' | 'absoluteYearly';
  interval: number;
  daysOfWeek?: DayOfWeek[];
  firstDayOfWeek?: DayOfWeek;
  dayOfMonth?: number;
  month?: number;
  index?: string;
}

export interface RecurrenceRange {
  type: 'endDate' | 'noEnd' | 'numbered';
  startDate: string;
  endDate?: string;
  numberOfOccurrences?: number;
  recurrenceTimeZone?: string;
}

export interface PatternedRecurrence {
  pattern: RecurrencePattern;
  range: RecurrenceRange;
}

export interface ItemBody {
  contentType: 'text' | 'html';
  content: string;
}

export interface Location {
  displayName: string;
  locationType?: string;
  /** A physicalAddress as given (street, city, …); a PATCH naming `location` replaces it with its own. */
  address?: Record<string, string>;
}

/** An event as Graph returns it (the emulator's public methods return the UTC form). */
export interface GraphEvent {
  '@odata.etag': string;
  id: string;
  createdDateTime: string;
  lastModifiedDateTime: string;
  changeKey: string;
  categories: string[];
  transactionId: string | null;
  originalStartTimeZone: string;
  originalEndTimeZone: string;
  iCalUId: string;
  reminderMinutesBeforeStart: number;
  isReminderOn: boolean;
  hasAttachments: boolean;
  subject: string;
  bodyPreview: string;
  importance: string;
  sensitivity: string;
  isAllDay: boolean;
  isCancelled: boolean;
  isOrganizer: boolean;
  responseRequested: boolean;
  seriesMasterId: string | null;
  showAs: ShowAs;
  type: EventType;
  webLink: string;
  isOnlineMeeting: boolean;
  onlineMeetingProvider: string;
  onlineMeeting: null;
  allowNewTimeProposals: boolean;
  isDraft: boolean;
  hideAttendees: boolean;
  responseStatus: ResponseStatus;
  body: ItemBody;
  start: DateTimeTimeZone;
  end: DateTimeTimeZone;
  location: Location & { uniqueIdType: string; address: object; coordinates: object };
  locations: Location[];
  recurrence: PatternedRecurrence | null;
  attendees: Array<Required<Pick<Attendee, 'type' | 'emailAddress'>> & { status: ResponseStatus }>;
  organizer: { emailAddress: EmailAddress };
}

/**
 * What "the user" (createEvent/updateEvent, control routes) may set. Unlike the Graph API, the user may also
 * set what the organizer or the user's own answer decide: organizer, responseStatus, isCancelled.
 */
export interface EventInput {
  subject?: string;
  body?: ItemBody;
  start: DateTimeTimeZone;
  end: DateTimeTimeZone;
  location?: Location;
  attendees?: Attendee[];
  isAllDay?: boolean;
  showAs?: ShowAs;
  importance?: 'low' | 'normal' | 'high';
  sensitivity?: 'normal' | 'personal' | 'private' | 'confidential';
  categories?: string[];
  transactionId?: string;
  recurrence?: PatternedRecurrence | null;
  organizer?: { emailAddress: EmailAddress };
  responseStatus?: ResponseStatus;
  isCancelled?: boolean;
  reminderMinutesBeforeStart?: number;
  isReminderOn?: boolean;
}

export type EventPatch = Partial<EventInput>;

export interface AccountInfo {
  email: string;
  userId: string;
  displayName: string;
  timeZone: string;
  defaultCalendarId: string;
}

export interface CalendarInfo {
  id: string;
  name: string;
  ownerEmail: string;
  isDefaultCalendar: boolean;
}

export type ChangeType = 'created' | 'updated' | 'deleted';
export type LifecycleEvent = 'reauthorizationRequired' | 'subscriptionRemoved' | 'missed';

export interface SubscriptionInfo {
  id: string;
  email: string;
  resource: string;
  changeType: string;
  notificationUrl: string;
  lifecycleNotificationUrl?: string;
  clientState?: string;
  expirationDateTime: string;
  /** Calendars whose changes reach this subscription. */
  calendarIds: string[];
  /** Set by a reauthorizationRequired lifecycle event, cleared by POST /subscriptions/{id}/reauthorize. */
  needsReauthorization: boolean;
  expired: boolean;
}

export interface NotificationLogEntry {
  at: number;
  kind: 'notification' | 'lifecycle' | 'validation';
  url: string;
  subscriptionIds: string[];
  /** changeType of each item (notifications), or the lifecycle event. */
  events: string[];
  /** Event ids the items name (notifications only). */
  eventIds: string[];
  /** HTTP status of the last attempt, or what became of the POST. */
  status: number | 'dropped' | 'error' | 'timeout';
  attempts: number;
}

export interface CallRecord {
  at: number;
  method: string;
  path: string;
  query: Record<string, string | string[]>;
  status: number;
  operation: string;
  /** Account the bearer token acts for, once known. */
  email?: string;
  /** Calendar the call addressed, resolved (`/me/calendar` → the default calendar's id), when it addressed one. */
  calendarId?: string;
}

export type OperationName =
  | 'me.get'
  | 'mailboxSettings.get'
  | 'calendars.list'
  | 'calendars.get'
  | 'events.list'
  | 'events.create'
  | 'events.get'
  | 'events.update'
  | 'events.delete'
  | 'events.instances'
  | 'events.respond'
  | 'calendarView'
  | 'calendarView.delta'
  | 'getSchedule'
  | 'subscriptions.create'
  | 'subscriptions.list'
  | 'subscriptions.get'
  | 'subscriptions.update'
  | 'subscriptions.delete'
  | 'subscriptions.reauthorize'
  | 'token'
  | 'authorize';
