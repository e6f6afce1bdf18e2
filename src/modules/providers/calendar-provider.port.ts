import type { ProviderName } from '../../config/app-config.js';
import type {
  BusyInterval,
  ChangePage,
  CreateEventInput,
  EventInput,
  ExternalCalendar,
  ExternalEvent,
  ListChangesInput,
  WatchChannel,
  WatchInput,
} from './external-event.js';
import type { ProviderAuth, ProviderTokens } from './provider-auth.js';

/**
 * The one port every calendar provider implements. Failures are thrown as `ProviderError`.
 * An abstract class so it doubles as the injection token.
 */
export abstract class CalendarProvider {
  abstract readonly name: ProviderName;

  /** Where to send the user to grant calendar access; `state` comes back to the callback. */
  abstract authorizeUrl(redirectUri: string, state: string, loginHint?: string): string;
  abstract exchangeCode(code: string, redirectUri: string): Promise<ProviderTokens>;

  abstract listCalendars(auth: ProviderAuth): Promise<ExternalCalendar[]>;
  abstract createEvent(auth: ProviderAuth, calendarId: string, input: CreateEventInput): Promise<ExternalEvent>;
  abstract updateEvent(auth: ProviderAuth, calendarId: string, eventId: string, input: EventInput): Promise<ExternalEvent>;
  /** An event that is already gone counts as deleted. */
  abstract deleteEvent(auth: ProviderAuth, calendarId: string, eventId: string): Promise<void>;
  abstract getEvent(auth: ProviderAuth, calendarId: string, eventId: string): Promise<ExternalEvent | null>;
  /** Live (not cancelled) events of the calendar carrying this iCalUID. */
  abstract findByICalUID(auth: ProviderAuth, calendarId: string, iCalUID: string): Promise<ExternalEvent[]>;
  /** One page of changes since `cursor`; throws `cursor_expired` when a full sync is needed. */
  abstract listChanges(auth: ProviderAuth, input: ListChangesInput): Promise<ChangePage>;
  abstract watch(auth: ProviderAuth, calendarId: string, input: WatchInput): Promise<WatchChannel>;
  /** A channel that is already gone counts as stopped. */
  abstract stopWatch(auth: ProviderAuth, channel: { id: string; resourceId: string | null }): Promise<void>;
  abstract busyTimes(
    auth: ProviderAuth,
    calendarIds: string[],
    range: { start: Date; end: Date },
  ): Promise<Map<string, BusyInterval[]>>;
}

/** All configured providers, by name. */
export abstract class CalendarProviders {
  abstract get(name: ProviderName): CalendarProvider;
  abstract has(name: ProviderName): boolean;
}
