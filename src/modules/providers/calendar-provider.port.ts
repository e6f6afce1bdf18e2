import type { ProviderName } from '../../config/app-config.js';
import type {
  BusyInterval,
  ChangePage,
  ChannelHandle,
  CreateEventInput,
  EventInput,
  ExternalCalendar,
  ExternalEvent,
  ListChangesInput,
  WatchInput,
} from './external-event.js';
import type { AuthorizationGrant, ProviderAuth } from './provider-auth.js';
import type { IncomingWebhook, ParsedWebhook } from './webhook.js';
import type { WebhookSecrets } from './webhook-secrets.js';
import type { Guest } from './guests.js';
import type { EventFields } from './changed-fields.js';

export interface UpdateEventOptions {
  ifMatch?: string | null;
  guestsBefore?: readonly Guest[] | null;
  fieldsBefore?: EventFields | null;
}

/**
 * The one port every calendar provider implements; only `providers/<name>/` knows a provider's
 * shapes, headers and fields. Failures are thrown as `ProviderError`. An abstract class so it
 * doubles as the injection token.
 */
export abstract class CalendarProvider {
  abstract readonly name: ProviderName;

  /**
   * What a change cursor is bound to. `calendar`: valid whatever the window (Google's syncToken).
   * `window`: made for the window of the full listing that produced it (Graph's calendarView
   * deltaLink): as the window slides, the sync re-anchors it with a full listing and reconcile.
   */
  abstract readonly cursorScope: 'calendar' | 'window';

  /** Base URL the provider pushes to (`…_WEBHOOK_URL`); the subscriptions module appends its paths. */
  abstract readonly webhookBaseUrl: string;

  /**
   * The secret new channels carry (and, during a rotation, the previous one): notifications are
   * checked against it, and a channel whose stored fingerprint is stale is replaced.
   */
  abstract readonly webhookSecrets: WebhookSecrets;

  /**
   * Where to send the user to grant calendar access; `state` comes back to the callback.
   * `codeChallenge`: PKCE (RFC 7636), the S256 challenge of the verifier `exchangeCode` will send.
   */
  abstract authorizeUrl(redirectUri: string, state: string, loginHint?: string, codeChallenge?: string): string;
  /**
   * Exchanges the callback's code (with the PKCE `codeVerifier` when the flow sent a challenge).
   * `missingScopes`: the calendar scopes calsync needs that the user did not grant (a consent
   * screen lets them untick some); a caller must not store such a grant.
   */
  abstract exchangeCode(code: string, redirectUri: string, codeVerifier?: string): Promise<AuthorizationGrant>;

  abstract listCalendars(auth: ProviderAuth): Promise<ExternalCalendar[]>;
  /**
   * Idempotent per `input.idempotencyKey`: a retried create never makes a second event. When the
   * first attempt's event exists and differs from `input` (the input changed, or the host edited
   * it), it is returned untouched with `preexisting: true`; the caller settles the difference.
   */
  abstract createEvent(auth: ProviderAuth, calendarId: string, input: CreateEventInput): Promise<ExternalEvent>;
  /**
   * `ifMatch`: the event's version (`ExternalEvent.etag`) the write is based on; when the event
   * changed since, the provider refuses it (`precondition_failed`) instead of overwriting the edit.
   * `guestsBefore`: the guests the event had in that version (`guestsOf`). When `input` asks for the
   * same guests, the event's attendees are left untouched (their answers, rooms, optional
   * attendees); otherwise, or without it, the adapter reads the event's attendees and changes only
   * the guests that differ, keeping everyone else's entry and answer. `fieldsBefore`: the event's
   * own fields in that version; only those `input` changes are written (`fieldsToWrite`), all of
   * them without it.
   */
  abstract updateEvent(
    auth: ProviderAuth,
    calendarId: string,
    eventId: string,
    input: EventInput,
    options?: UpdateEventOptions,
  ): Promise<ExternalEvent>;
  /** An event that is already gone counts as deleted. */
  abstract deleteEvent(auth: ProviderAuth, calendarId: string, eventId: string): Promise<void>;
  /** null when the event does not exist (deleted, or never was). */
  abstract getEvent(auth: ProviderAuth, calendarId: string, eventId: string): Promise<ExternalEvent | null>;
  /**
   * The live event a `createEvent` with this idempotency key (and `replaces`, as the create had it)
   * made in the calendar, or null: finds what a create whose answer was lost left behind.
   */
  abstract findCreated(
    auth: ProviderAuth,
    calendarId: string,
    idempotencyKey: string,
    replaces?: string | null,
  ): Promise<ExternalEvent | null>;
  /** Live (not cancelled) events of the calendar carrying this iCalUID. */
  abstract findByICalUID(auth: ProviderAuth, calendarId: string, iCalUID: string): Promise<ExternalEvent[]>;
  /**
   * The events of the calendar overlapping [start, end), occurrences expanded, every page read: a
   * plain listing of a short window (a conflict check's), which starts no sync state at the provider
   * (Graph's delta would). Cancelled events may be among them.
   */
  abstract eventsIn(auth: ProviderAuth, calendarId: string, range: { start: Date; end: Date }): Promise<ExternalEvent[]>;
  /** One page of changes since `cursor`; throws `cursor_expired` when a full sync is needed. */
  abstract listChanges(auth: ProviderAuth, input: ListChangesInput): Promise<ChangePage>;
  /**
   * Live busy time per calendar over `range`, by the same rule as the cache (not free, not
   * cancelled, not declined by the owner). All-day events cover their dates in `range.timeZone`
   * (the user's zone), as the cached answer does, where the provider lets the adapter see them.
   */
  abstract busyTimes(
    auth: ProviderAuth,
    calendarIds: string[],
    range: { start: Date; end: Date; timeZone: string },
  ): Promise<Map<string, BusyInterval[]>>;

  // Push channels. A channel is an opaque handle: callers store and hand it back, never read it.

  /** Opens a channel; the provider may choose its id (Graph does), so use the returned one. */
  abstract watch(auth: ProviderAuth, calendarId: string, input: WatchInput): Promise<ChannelHandle>;
  /**
   * Extends a channel's life. `replaces: true` when a new channel was opened instead (Google has
   * no renewal): the caller stores the new one first, then stops `current`, so no change falls in
   * a gap. A channel the provider no longer knows throws `not_found`/`gone`: watch anew.
   */
  abstract renew(
    auth: ProviderAuth,
    calendarId: string,
    current: ChannelHandle,
    input: WatchInput,
  ): Promise<{ channel: ChannelHandle; replaces: boolean }>;
  /** Answers the provider's "reauthorize this channel" (Graph lifecycle); same contract as `renew`. */
  abstract reauthorize(
    auth: ProviderAuth,
    calendarId: string,
    current: ChannelHandle,
    input: WatchInput,
  ): Promise<{ channel: ChannelHandle; replaces: boolean }>;
  /** A channel that is already gone counts as stopped. */
  abstract stopWatch(auth: ProviderAuth, channel: ChannelHandle): Promise<void>;

  /**
   * Reads one incoming webhook request: a handshake to answer as is (Graph's validation echo),
   * or the notifications it carries, each with whether its secret matched (compared in constant
   * time). Pure and synchronous: no I/O, the intake's hot path.
   */
  abstract parseWebhook(request: IncomingWebhook): ParsedWebhook;
}

/** All configured providers, by name. */
export abstract class CalendarProviders {
  abstract get(name: ProviderName): CalendarProvider;
  abstract has(name: ProviderName): boolean;
  abstract all(): CalendarProvider[];
}
