import { createHash } from 'node:crypto';
import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { AuthenticationHandler, Client, TelemetryHandler, type AuthenticationProvider } from '@microsoft/microsoft-graph-client';
import pLimit, { type LimitFunction } from 'p-limit';
import { APP_CONFIG, type AppConfig } from '../../../config/app-config.js';
import { MetricsService } from '../../../infrastructure/metrics/metrics.service.js';
import { CalendarProvider, type UpdateEventOptions } from '../calendar-provider.port.js';
import { fieldsToWrite } from '../changed-fields.js';
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
} from '../external-event.js';
import type { AuthorizationGrant, ProviderAuth } from '../provider-auth.js';
import { ProviderError, isProviderError } from '../provider.errors.js';
import { withProviderRetry } from '../retry-policy.js';
import type { IncomingWebhook, ParsedWebhook } from '../webhook.js';
import { WebhookSecrets } from '../webhook-secrets.js';
import { AccessTokens } from '../access-tokens.js';
import { toGraphProviderError } from './graph-errors.js';
import {
  type GraphAttendee,
  type GraphEvent,
  type GraphEventBody,
  busyIntervals,
  eventMatchesInput,
  fromGraphEvent,
  toGraphEventBody,
  utcTime,
} from './graph-event.mapper.js';
import { applyGuests, sameGuests } from '../guests.js';
import { GraphHttp, GraphHttpHandler } from './graph-http.js';
import { GraphOAuthClient, graphAuthorizeUrl } from './graph-oauth.js';
import { GraphWebhookParser } from './graph-webhook.js';

/** Creating or renewing a subscription waits for Graph to validate both URLs (≤ 10 s each). */
const SUBSCRIPTION_TIMEOUT_MS = 30_000;
/** Delta page size asked for (`odata.maxpagesize`); Outlook serves at most 1000 per page. */
const DELTA_PAGE_SIZE = 1000;
/** `$top` of plain listings (calendarView, calendars, $filter queries). */
const LIST_PAGE_SIZE = 500;
/** Outlook event subscriptions live at most 10,080 minutes; keep a margin for clock skew. */
const MAX_SUBSCRIPTION_MINUTES = 10_070;
/**
 * How Graph refuses an expiry further out than it allows: a 400 (`ExtensionError`) saying
 * "Subscription expiration can only be 4230 minutes in the future." Some tenants still enforce the
 * older limit of 4,230 minutes for events; the refusal names the limit, so it is learnt from it.
 */
const EXPIRATION_LIMIT = /expiration can only be (\d+) minutes in the future/i;
/** Minutes kept under a limit Graph names, for clock skew between calsync and Graph. */
const LIMIT_MARGIN_MINUTES = 10;
/** A listing that keeps handing out nextLinks past this is looping (a known Graph fault). */
const MAX_PAGES = 1000;
const SUBSCRIPTION_KIND = 'microsoft.graph.subscription';
const DAY_MS = 86_400_000;
const GRAPH_HOST = 'graph.microsoft.com';
/** Outlook's limit of concurrent requests per app per mailbox (Microsoft Graph service limits). */
const MAILBOX_CONCURRENCY = 4;

/**
 * Event reads and writes ask for answers in UTC (so `dateTime` values without an offset are UTC;
 * writes state their own zone, see `graphTimes`) and for text bodies. Several preferences go in
 * one `Prefer` header, comma-separated (RFC 7240).
 */
const PREFER_EVENTS = 'outlook.timezone="UTC", outlook.body-content-type="text"';
const PREFER_DELTA = `${PREFER_EVENTS}, odata.maxpagesize=${DELTA_PAGE_SIZE}`;

/** Attempts at writing times again in UTC when the version keeps changing under them (`settleTimes`). */
const SETTLE_ROUNDS = 3;

const BUSY_FIELDS = 'start,end,showAs,isCancelled,isAllDay,responseStatus';

interface GraphPage<T> {
  value?: T[];
  '@odata.nextLink'?: string;
  '@odata.deltaLink'?: string;
}

interface GraphCalendar {
  id?: string;
  name?: string;
  isDefaultCalendar?: boolean;
  canEdit?: boolean;
  canShare?: boolean;
}

interface GraphSubscription {
  id?: string;
  resource?: string;
  expirationDateTime?: string;
  notificationUrl?: string;
  lifecycleNotificationUrl?: string | null;
  clientState?: string | null;
}

/** A listed subscription closer to its end than this is not taken over: it would lapse before its renewal. */
const ADOPT_MIN_LIFE_MS = 10 * 60_000;
/** An unrecorded subscription made in the last this long may be taken over (a recent create whose answer was lost). */
const ADOPT_MAX_AGE_MS = 10 * 60_000;
/** An unrecorded subscription made longer ago than this is an orphan, deleted (see `deleteOrphans`). */
const ORPHAN_AFTER_MS = 20 * 60_000;

/** Per call: the token sent (to name the one a 401 rejected) and a token failure to keep whole. */
interface AuthSession {
  sent: string | null;
  rejected: string | null;
  failure: ProviderError | null;
  /** Headers of the last raw answer (see GraphHttpHandler). */
  answerHeaders: Headers | null;
}

const segment = (value: string): string => encodeURIComponent(value);
/** OData string literal: single quotes doubled. */
const odataString = (value: string): string => `'${value.replace(/'/g, "''")}'`;

/**
 * Outlook calendars through Microsoft Graph v1.0 and the official @microsoft/microsoft-graph-client,
 * pointed at `MICROSOFT_GRAPH_BASE_URL`.
 *
 * The client's middleware chain is ours: AuthenticationHandler (bearer only for Graph's hosts and
 * `customHosts`) → TelemetryHandler (client-request-id) → GraphHttpHandler (node:https with the
 * optional CA, per-request timeout). The default chain's RetryHandler is left out on purpose:
 * `withProviderRetry` already retries 429/503/504 honouring Retry-After, and within one budget
 * (it gives up and leaves a long Retry-After to the durable job); the RetryHandler would retry up
 * to 3 times inside each of our attempts, sleeping up to 180 s per Retry-After, which multiplies
 * attempts and outlives every timeout. The RedirectHandler is left out too: it decides whether to
 * drop the bearer token from `response.url`, which a constructed Response does not carry, and no
 * call made here is redirected.
 */
@Injectable()
export class MicrosoftCalendarProvider extends CalendarProvider implements OnModuleDestroy {
  readonly name = 'office365_calendar' as const;
  /** A calendarView deltaLink is bound to the window of the full listing that produced it. */
  readonly cursorScope = 'window' as const;
  readonly webhookBaseUrl: string;
  readonly webhookSecrets: WebhookSecrets;

  private readonly logger = new Logger('MicrosoftCalendarProvider');
  /**
   * Per credential (a mailbox, so a tenant), a shorter longest lifetime than Outlook's documented
   * one, learnt from a refusal (`learnLifetimeLimit`); the others ask for `MAX_SUBSCRIPTION_MINUTES`.
   * Per credential because the lifetime calsync asks for is how `findUnrecorded` tells a
   * subscription's age, so it must be the one asked for that mailbox. Kept for the process: after a
   * restart a credential's first create or renewal is refused once more, and until then a look
   * judges its subscriptions by the longer lifetime.
   */
  private readonly lifetimeLimits = new Map<number, number>();
  /** Windows zones this process saw Outlook read otherwise than ICU: their times are written in UTC (`settleTimes`). */
  private readonly utcZones = new Set<string>();
  private readonly http: GraphHttp;
  private readonly oauth: GraphOAuthClient;
  private readonly tokens: AccessTokens;
  /** Per credential (one mailbox): the slots its requests wait for (`inMailboxSlot`). */
  private readonly mailboxSlots = new Map<number, LimitFunction>();
  private readonly webhooks: GraphWebhookParser;
  private readonly baseUrl: string;
  private readonly baseOrigin: string | null;
  private readonly customHosts: Set<string> | undefined;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly metrics: MetricsService,
  ) {
    super();
    const microsoft = config.microsoft;
    this.webhookBaseUrl = microsoft.webhookUrl;
    this.webhookSecrets = new WebhookSecrets(microsoft.webhookToken, microsoft.webhookTokenPrevious);
    this.webhooks = new GraphWebhookParser(this.webhookSecrets);
    this.http = new GraphHttp({ caCertificate: microsoft.caCertificate, timeoutMs: config.providerTimeoutMs });
    this.oauth = new GraphOAuthClient(microsoft, this.http.fetch);
    this.tokens = new AccessTokens(
      { refresh: (refreshToken) => this.measured('oauth.refresh', () => this.oauth.refresh(refreshToken)) },
      this.logger,
    );
    this.baseUrl = microsoft.graphBaseUrl.replace(/\/+$/, '');
    let host: string | null = null;
    try {
      const url = new URL(this.baseUrl);
      host = url.hostname;
      this.baseOrigin = url.origin;
    } catch {
      this.baseOrigin = null;
    }
    // The client sends the bearer token only to Graph's own hosts and to `customHosts`, which
    // takes bare hostnames (no scheme, no port, no slash).
    this.customHosts = host && host !== GRAPH_HOST ? new Set([host.replace(/^\[|\]$/g, '')]) : undefined;
  }

  onModuleDestroy(): void {
    this.http.close();
  }

  // ---- OAuth ------------------------------------------------------------------------------------

  authorizeUrl(redirectUri: string, state: string, loginHint?: string, codeChallenge?: string): string {
    return graphAuthorizeUrl(this.config.microsoft, redirectUri, state, loginHint, codeChallenge);
  }

  exchangeCode(code: string, redirectUri: string, codeVerifier?: string): Promise<AuthorizationGrant> {
    return this.measured('oauth.token', () => this.oauth.exchangeCode(code, redirectUri, codeVerifier));
  }

  // ---- Calendars and events ---------------------------------------------------------------------

  async listCalendars(auth: ProviderAuth): Promise<ExternalCalendar[]> {
    const calendars: ExternalCalendar[] = [];
    const first = `/me/calendars?$select=id,name,isDefaultCalendar,canEdit,canShare&$top=${LIST_PAGE_SIZE}`;
    await this.eachPage<GraphCalendar>(auth, 'calendars.list', first, undefined, (item) => {
      if (!item.id) return;
      const owner = item.canShare === true || item.isDefaultCalendar === true;
      calendars.push({
        id: item.id,
        name: item.name ?? item.id,
        primary: item.isDefaultCalendar === true,
        // Graph's calendar resource carries no time zone (that is a mailbox setting).
        timeZone: null,
        accessRole: item.canEdit ? (owner ? 'owner' : 'writer') : 'reader',
      });
    });
    return calendars;
  }

  async createEvent(auth: ProviderAuth, calendarId: string, input: CreateEventInput): Promise<ExternalEvent> {
    // `transactionId` makes Graph answer a repeated create with the event the first one made, so
    // a retry (ours, or the job's) never doubles the event. When the input changed in between,
    // Outlook refuses the reuse (400 ErrorDuplicateTransactionId, mapped to `conflict`): find the
    // event by its transactionId and patch it. Graph assigns the iCalUId itself.
    const transactionId = transactionIdFor(input.idempotencyKey, input.replaces);
    let body: GraphEventBody = { ...toGraphEventBody(input, { utcZones: this.utcZones }), transactionId };
    let event: ExternalEvent;
    try {
      const post = (content: GraphEventBody) =>
        this.call(auth, 'events.create', (client) =>
          client
            .api(`/me/calendars/${segment(calendarId)}/events`)
            .header('Prefer', PREFER_EVENTS)
            .post(content),
        );
      let created: unknown;
      const sentAt = Date.now();
      try {
        created = await post(body);
      } catch (error) {
        if (!isZoneRefused(error, body)) throw error;
        this.refusedZone(body);
        body = { ...body, ...utcTimes(input) };
        created = await post(body);
      }
      // Times unlike the input's on an event made well before this request and edited since: an
      // earlier attempt's event that the host changed, answered for this repeat of its
      // transactionId, not Exchange misreading the zone of this write. Returned as it is
      // (`preexisting` below), never written back over.
      const answered = created as GraphEvent;
      event = earlierAttemptsEditedEvent(answered, sentAt)
        ? fromGraphEvent(answered)
        : await this.settleTimes(auth, body, fromGraphEvent(answered), input);
    } catch (error) {
      if (!isProviderError(error, 'conflict')) throw error;
      const existing = await this.findByTransactionId(auth, calendarId, transactionId);
      if (!existing) throw error;
      event = existing;
    }
    // An event made by an earlier attempt may differ from the input: the input changed since, or
    // the host edited the event. Returned as it is, for the caller to settle by the later intent.
    // An event whose times Outlook misplaced is the one just made, not an earlier attempt's: its
    // caller writes the times again (`timesMisplaced`), never settles it as the host's edit.
    return event.timesMisplaced || eventMatchesInput(event, input) ? event : { ...event, preexisting: true };
  }

  async updateEvent(
    auth: ProviderAuth,
    _calendarId: string,
    eventId: string,
    input: EventInput,
    options: UpdateEventOptions = {},
  ): Promise<ExternalEvent> {
    // A PATCH naming `attendees` replaces the collection: optional attendees would turn required
    // and rooms the host booked would go.
    const { attendees: _attendees, ...all } = toGraphEventBody(input, { utcZones: this.utcZones });
    // Only what changes (`fieldsToWrite`): a body rewritten as text loses the host's HTML (the
    // Teams link), a location rewritten as a name loses its address and room.
    const write = fieldsToWrite(input, options.fieldsBefore);
    const fields: Partial<Omit<GraphEventBody, 'attendees'>> = {
      ...(write.title ? { subject: all.subject } : {}),
      ...(write.description ? { body: all.body } : {}),
      ...(write.location ? { location: all.location } : {}),
      ...(write.times ? { start: all.start, end: all.end } : {}),
    };
    let body: Partial<Omit<GraphEventBody, 'attendees'>> & { attendees?: GraphAttendee[] } = fields;
    let ifMatch = options.ifMatch ?? null;
    if (!options.guestsBefore || !sameGuests(options.guestsBefore, input.attendees)) {
      // The guests change: read the entries as they are, and change only those guests.
      const current = (await this.call(auth, 'events.get', (client) =>
        client
          .api(`/me/events/${segment(eventId)}`)
          .select(['attendees', 'organizer'])
          .get(),
      )) as GraphEvent;
      const etag = current['@odata.etag'] ?? null;
      if (ifMatch && etag !== ifMatch) {
        throw new ProviderError(this.name, 'precondition_failed', `Event ${eventId} changed since version ${ifMatch}`, 412);
      }
      const organizer = current.organizer?.emailAddress?.address?.toLowerCase();
      body = {
        ...fields,
        attendees: applyGuests(current.attendees ?? [], input.attendees, {
          email: (a) => a.emailAddress?.address ?? null,
          keep: (a) =>
            a.type?.toLowerCase() === 'resource' || Boolean(organizer && a.emailAddress?.address?.toLowerCase() === organizer),
          rename: (a, name) => ({ ...a, emailAddress: { ...a.emailAddress, name } }),
          add: (g) => ({ emailAddress: { address: g.email, ...(g.name ? { name: g.name } : {}) }, type: 'required' }),
        }).map(({ emailAddress, type }) => ({ emailAddress, type })), // `status` is the attendee's own, not written
      };
      ifMatch = etag ?? ifMatch;
    }
    const patch = (content: typeof body, version: string | null) =>
      this.call(auth, 'events.update', (client) => {
        const request = client.api(`/me/events/${segment(eventId)}`).header('Prefer', PREFER_EVENTS);
        return (version ? request.header('If-Match', version) : request).patch(content);
      });
    let updated: unknown;
    try {
      updated = await patch(body, ifMatch);
    } catch (error) {
      if (!isZoneRefused(error, body)) throw error;
      this.refusedZone(body);
      body = { ...body, ...utcTimes(input) };
      updated = await patch(body, ifMatch);
    }
    return this.settleTimes(auth, body, fromGraphEvent(updated as GraphEvent), input);
  }

  /** A zone this Outlook refused: its times are written in UTC from now on. */
  private refusedZone(body: Partial<Pick<GraphEventBody, 'start' | 'end'>>): void {
    const zone = body.start?.timeZone ?? 'UTC';
    this.logger.warn(`Outlook does not know the time zone ${zone}: its times are written in UTC from now on`);
    this.utcZones.add(zone);
  }

  /**
   * Times written in the host's zone come back as the instants Exchange made of them (in UTC, by
   * the `outlook.timezone` preference). Where Exchange's zone data differs from ICU's (a country
   * changed its offsets and one of them lags), those are not the input's: the times are written
   * again in UTC, against the version just answered, and this process writes that zone's times in
   * UTC from then on (`utcZones`: guests get one update, not two, on later writes). A 412 on the
   * correction is looked into: the event still at the instants Exchange made of calsync's write
   * (another version of the same content, e.g. the meeting update Exchange sent) is corrected
   * against its new version; the event moved since is the host's change, left to the caller's
   * conflict path like any stale version. A correction that fails otherwise returns the event as
   * Outlook placed it, marked `timesMisplaced`: the caller records it as it is (so no sync takes it
   * for a host's edit) and writes the booking's times again at its next attempt.
   */
  private async settleTimes(
    auth: ProviderAuth,
    written: Partial<Pick<GraphEventBody, 'start' | 'end'>>,
    event: ExternalEvent,
    input: EventInput,
  ): Promise<ExternalEvent> {
    const zone = written.start?.timeZone ?? 'UTC';
    if (zone === 'UTC' || event.isAllDay || atInstants(event, input.start, input.end)) return event;
    this.utcZones.add(zone);
    this.logger.warn(
      `Outlook read ${zone} times otherwise than calsync (${event.start?.toISOString() ?? 'none'} for ${input.start.toISOString()}): event ${event.id} written again in UTC, and this zone's from now on`,
    );
    const exchanged = event;
    let current = event;
    for (let round = 1; ; round++) {
      try {
        const version = current.etag;
        const fixed = await this.call(auth, 'events.update', (client) => {
          const request = client.api(`/me/events/${segment(event.id)}`).header('Prefer', PREFER_EVENTS);
          return (version ? request.header('If-Match', version) : request).patch(utcTimes(input));
        });
        return fromGraphEvent(fixed as GraphEvent);
      } catch (error) {
        if (isProviderError(error, 'precondition_failed') && round < SETTLE_ROUNDS) {
          const latest = await this.getEvent(auth, '', event.id).catch(() => null);
          if (latest && atInstants(latest, input.start, input.end)) return latest;
          // Moved since calsync's write: the host's change, settled by the caller's conflict path.
          if (latest && !atInstants(latest, exchanged.start, exchanged.end)) throw error;
          if (latest) {
            current = latest;
            continue;
          }
        }
        // Outlook failing (or the version changing under every attempt): the event stays where
        // Outlook placed it for now, and the caller writes the times again later.
        this.logger.warn(
          `Event ${event.id}: writing its times again in UTC failed (${error instanceof Error ? error.message : String(error)}); left for the write's next attempt`,
        );
        return { ...current, timesMisplaced: true };
      }
    }
  }

  async deleteEvent(auth: ProviderAuth, _calendarId: string, eventId: string): Promise<void> {
    try {
      await this.call(auth, 'events.delete', (client) => client.api(`/me/events/${segment(eventId)}`).delete());
    } catch (error) {
      if (isProviderError(error, 'not_found') || isProviderError(error, 'gone')) return;
      throw error;
    }
  }

  async getEvent(auth: ProviderAuth, _calendarId: string, eventId: string): Promise<ExternalEvent | null> {
    try {
      const event = await this.call(auth, 'events.get', (client) =>
        client
          .api(`/me/events/${segment(eventId)}`)
          .header('Prefer', PREFER_EVENTS)
          .get(),
      );
      return fromGraphEvent(event as GraphEvent);
    } catch (error) {
      if (isProviderError(error, 'not_found') || isProviderError(error, 'gone')) return null;
      throw error;
    }
  }

  async findCreated(
    auth: ProviderAuth,
    calendarId: string,
    idempotencyKey: string,
    replaces?: string | null,
  ): Promise<ExternalEvent | null> {
    const event = await this.findByTransactionId(auth, calendarId, transactionIdFor(idempotencyKey, replaces));
    return event && event.status !== 'cancelled' ? event : null;
  }

  async findByICalUID(auth: ProviderAuth, calendarId: string, iCalUID: string): Promise<ExternalEvent[]> {
    const filter = segment(`iCalUId eq ${odataString(iCalUID)}`);
    const events: ExternalEvent[] = [];
    const first = `/me/calendars/${segment(calendarId)}/events?$filter=${filter}&$top=${LIST_PAGE_SIZE}`;
    await this.eachPage<GraphEvent>(auth, 'events.list', first, PREFER_EVENTS, (item) => {
      const event = fromGraphEvent(item);
      if (event.status !== 'cancelled') events.push(event);
    });
    return events;
  }

  /**
   * One page of a calendarView delta round. A full round starts from the window; later pages and
   * rounds GET the absolute `@odata.nextLink` / `@odata.deltaLink` as is (the client strips the
   * https origin and keeps the token). Series masters are skipped: their occurrences come one by one.
   */
  async listChanges(auth: ProviderAuth, input: ListChangesInput): Promise<ChangePage> {
    const link = input.pageToken ?? input.cursor;
    let path: string;
    if (link) {
      path = this.checkedLink(link);
    } else {
      const start = segment(input.window.start.toISOString());
      const end = segment(input.window.end.toISOString());
      path = `/me/calendars/${segment(input.calendarId)}/calendarView/delta?startDateTime=${start}&endDateTime=${end}`;
    }
    const page = (await this.call(auth, 'events.delta', (client) =>
      client.api(path).header('Prefer', PREFER_DELTA).get(),
    )) as GraphPage<GraphEvent>;
    const events: ExternalEvent[] = [];
    for (const item of page.value ?? []) {
      if (item.type === 'seriesMaster' && !item['@removed']) continue;
      events.push(fromGraphEvent(item, { listing: true }));
    }
    const nextPageToken = page['@odata.nextLink'] ?? null;
    return { events, nextPageToken, nextCursor: nextPageToken ? null : (page['@odata.deltaLink'] ?? null) };
  }

  async eventsIn(auth: ProviderAuth, calendarId: string, range: { start: Date; end: Date }): Promise<ExternalEvent[]> {
    const start = segment(range.start.toISOString());
    const end = segment(range.end.toISOString());
    const first =
      `/me/calendars/${segment(calendarId)}/calendarView?startDateTime=${start}&endDateTime=${end}` +
      `&$select=${BUSY_FIELDS}&$top=${LIST_PAGE_SIZE}`;
    const events: ExternalEvent[] = [];
    await this.eachPage<GraphEvent>(auth, 'events.calendarView', first, PREFER_EVENTS, (item) => {
      events.push(fromGraphEvent(item));
    });
    return events;
  }

  /**
   * Busy time per calendar from its calendarView (occurrences expanded), with the same `busy` rule
   * as the sync. Not getSchedule: that works per mailbox and sees only the default calendar, while
   * the cache holds exactly the selected calendars' views.
   */
  async busyTimes(
    auth: ProviderAuth,
    calendarIds: string[],
    range: { start: Date; end: Date; timeZone: string },
  ): Promise<Map<string, BusyInterval[]>> {
    // All-day events are placed in the user's zone below, so one that covers the edge of the range
    // there may lie outside it in UTC: ask for a day more on each side, then clip.
    const start = segment(new Date(range.start.getTime() - DAY_MS).toISOString());
    const end = segment(new Date(range.end.getTime() + DAY_MS).toISOString());
    const entries = await Promise.all(
      calendarIds.map(async (calendarId) => {
        const events: ExternalEvent[] = [];
        const first =
          `/me/calendars/${segment(calendarId)}/calendarView?startDateTime=${start}&endDateTime=${end}` +
          `&$select=${BUSY_FIELDS}&$top=${LIST_PAGE_SIZE}`;
        await this.eachPage<GraphEvent>(auth, 'events.calendarView', first, PREFER_EVENTS, (item) => {
          events.push(fromGraphEvent(item));
        });
        return [calendarId, busyIntervals(events, range)] as const;
      }),
    );
    return new Map(entries);
  }

  // ---- Push channels (Graph subscriptions) ------------------------------------------------------

  /**
   * Creates the calendar's subscription. A create can land at Graph and its answer still be lost (a
   * 5xx from a gateway, a reset, our timeout): sending it again would leave the first subscription
   * notifying for days with an id calsync never learnt. So a create whose answer may have been lost
   * is not repeated blindly: the mailbox's subscriptions are listed first, and one for this very
   * calendar and these URLs that calsync does not hold is taken over. The same look comes first when
   * an earlier operation on the calendar failed (`recoverUnrecorded`). A look that fails ends the
   * attempt; the next one (the job's retry, the minute's sweep) looks again.
   */
  async watch(auth: ProviderAuth, calendarId: string, input: WatchInput): Promise<ChannelHandle> {
    // Ids may hold URL-reserved characters (Graph's end in '='): the resource is a path, so encode.
    const resource = `/me/calendars/${segment(calendarId)}/events`;
    const wanted = { resource, notificationUrl: input.address, lifecycleNotificationUrl: input.lifecycleAddress };
    if (input.recoverUnrecorded) {
      const found = await this.findUnrecorded(auth, wanted, input);
      if (found) return this.handleOf(found, resource, this.expirationFor(input.ttlSeconds, auth), true);
    }
    let lookFailed = false;
    let adopted = false;
    const create = (expiration: Date) =>
      withProviderRetry(
        async () => {
          try {
            return (await this.call(
              auth,
              'subscriptions.create',
              (client) =>
                client
                  .api('/subscriptions')
                  .option('timeoutMs', SUBSCRIPTION_TIMEOUT_MS)
                  .post({
                    changeType: 'created,updated,deleted',
                    ...wanted,
                    expirationDateTime: expiration.toISOString(),
                    clientState: this.config.microsoft.webhookToken,
                  }),
              // Each round sends the create once; the rounds are retried below.
              () => false,
            )) as GraphSubscription;
          } catch (error) {
            if (!answerMayBeLost(error)) throw error;
            let found: GraphSubscription | null;
            try {
              found = await this.findUnrecorded(auth, wanted, input);
            } catch (lookError) {
              lookFailed = true;
              throw lookError;
            }
            if (found) {
              adopted = true;
              return found;
            }
            throw error;
          }
        },
        undefined,
        (error) => error.retryable && !lookFailed,
      );
    const { result: subscription, expiration } = await this.withinLifetimeLimit(auth, input.ttlSeconds, create);
    return this.handleOf(subscription, resource, expiration, adopted);
  }

  /**
   * `adopted`: taken over from the mailbox's list, made by an earlier create whose answer was lost,
   * possibly before a rotation of the client state: its secret is known only when Graph shows it.
   */
  private handleOf(subscription: GraphSubscription, resource: string, expiration: Date, adopted: boolean): ChannelHandle {
    if (!subscription?.id) {
      throw new ProviderError(this.name, 'permanent', 'Microsoft Graph created a subscription without an id');
    }
    return {
      id: subscription.id,
      resourceId: null,
      resourceUri: subscription.resource ?? resource,
      kind: SUBSCRIPTION_KIND,
      expiration: parseDate(subscription.expirationDateTime) ?? expiration,
      secretFingerprint:
        !adopted || subscription.clientState === this.config.microsoft.webhookToken ? this.webhookSecrets.fingerprint : null,
    };
  }

  /**
   * A live subscription of the mailbox for this resource and these URLs, with the same client state
   * when Graph shows it, that calsync records for no calendar and is not about to stop
   * (`recordedAmong`), made in the last `ADOPT_MAX_AGE_MS`: one a recent create left unrecorded.
   * The one that lives longest, if several. Older unrecorded ones are orphans (see `deleteOrphans`).
   */
  private async findUnrecorded(
    auth: ProviderAuth,
    wanted: { resource: string; notificationUrl: string; lifecycleNotificationUrl: string },
    input: WatchInput,
  ): Promise<GraphSubscription | null> {
    const token = this.config.microsoft.webhookToken;
    const now = Date.now();
    const liveAfter = now + ADOPT_MIN_LIFE_MS;
    // Graph shows no creation time, but calsync asks for the same lifetime every time (within
    // Graph's limit, which it refuses rather than cuts): the expiry tells it.
    const lifetimeMs = this.expirationFor(input.ttlSeconds, auth).getTime() - now;
    const candidates: Array<{ subscription: GraphSubscription; end: number; madeAt: number }> = [];
    let next: string | undefined = '/subscriptions';
    for (let pages = 0; next && pages < MAX_PAGES; pages++) {
      const url: string = next;
      const page = (await this.call(auth, 'subscriptions.list', (client) =>
        client.api(url).get(),
      )) as GraphPage<GraphSubscription>;
      for (const s of page.value ?? []) {
        const end = parseDate(s.expirationDateTime)?.getTime() ?? 0;
        if (!s.id || s.id === input.currentChannelId || end <= liveAfter) continue;
        if (!sameResource(s.resource, wanted.resource) || s.notificationUrl !== wanted.notificationUrl) continue;
        if (s.lifecycleNotificationUrl && s.lifecycleNotificationUrl !== wanted.lifecycleNotificationUrl) continue;
        candidates.push({ subscription: s, end, madeAt: end - lifetimeMs });
      }
      next = page['@odata.nextLink'] ? this.checkedLink(page['@odata.nextLink']) : undefined;
    }
    if (candidates.length === 0) return null;
    const recorded = input.recordedAmong
      ? await input.recordedAmong(candidates.map((c) => c.subscription.id as string))
      : new Set<string>();
    const unrecorded = candidates.filter((c) => !recorded.has(c.subscription.id as string));
    let best: { subscription: GraphSubscription; end: number } | null = null;
    for (const candidate of unrecorded) {
      if (candidate.madeAt < now - ADOPT_MAX_AGE_MS) continue;
      // One with another client state (made before a rotation) is not taken over: its notifications
      // would carry a secret on its way out. It is an orphan all the same, deleted once old enough.
      const clientState = candidate.subscription.clientState;
      if (clientState && clientState !== token) continue;
      if (!best || candidate.end > best.end) best = candidate;
    }
    // Without the store's word on what is recorded, nothing is taken for an orphan.
    if (input.recordedAmong)
      await this.deleteOrphans(
        auth,
        unrecorded.filter((c) => c.madeAt < now - ORPHAN_AFTER_MS),
      );
    return best?.subscription ?? null;
  }

  /**
   * Unrecorded subscriptions for the calendar made more than `ORPHAN_AFTER_MS` ago (creates whose
   * answers were lost, a row lost to a crash) would notify for days: deleted, best-effort. Never
   * one an operation may be taking over at the same time: only those made in the last
   * `ADOPT_MAX_AGE_MS` are taken over, and the gap between the two ages is far longer than an
   * operation's look and store.
   */
  private async deleteOrphans(auth: ProviderAuth, orphans: ReadonlyArray<{ subscription: GraphSubscription }>): Promise<void> {
    for (const { subscription } of orphans) {
      const id = subscription.id as string;
      try {
        await this.call(auth, 'subscriptions.delete', (client) => client.api(`/subscriptions/${segment(id)}`).delete());
      } catch (error) {
        if (isProviderError(error, 'not_found') || isProviderError(error, 'gone')) continue;
        // It expires by itself; the next look tries again.
        this.logger.warn(
          `Could not delete the orphaned subscription ${id}: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
    }
  }

  /** PATCHes the expiry; a subscription Graph no longer knows throws `not_found`: watch anew. */
  async renew(
    auth: ProviderAuth,
    _calendarId: string,
    current: ChannelHandle,
    input: WatchInput,
  ): Promise<{ channel: ChannelHandle; replaces: boolean }> {
    const { result: subscription, expiration } = await this.withinLifetimeLimit(
      auth,
      input.ttlSeconds,
      (expiration) =>
        this.call(auth, 'subscriptions.update', (client) =>
          client
            .api(`/subscriptions/${segment(current.id)}`)
            .option('timeoutMs', SUBSCRIPTION_TIMEOUT_MS)
            .patch({ expirationDateTime: expiration.toISOString() }),
        ) as Promise<GraphSubscription | undefined>,
    );
    return {
      channel: {
        ...current,
        resourceUri: subscription?.resource ?? current.resourceUri,
        kind: SUBSCRIPTION_KIND,
        expiration: parseDate(subscription?.expirationDateTime) ?? expiration,
      },
      replaces: false,
    };
  }

  async reauthorize(
    auth: ProviderAuth,
    calendarId: string,
    current: ChannelHandle,
    input: WatchInput,
  ): Promise<{ channel: ChannelHandle; replaces: boolean }> {
    await this.call(auth, 'subscriptions.reauthorize', (client) =>
      client
        .api(`/subscriptions/${segment(current.id)}/reauthorize`)
        .option('timeoutMs', SUBSCRIPTION_TIMEOUT_MS)
        .post({}),
    );
    return this.renew(auth, calendarId, current, input);
  }

  async stopWatch(auth: ProviderAuth, channel: ChannelHandle): Promise<void> {
    try {
      await this.call(auth, 'subscriptions.delete', (client) => client.api(`/subscriptions/${segment(channel.id)}`).delete());
    } catch (error) {
      if (isProviderError(error, 'not_found') || isProviderError(error, 'gone')) return;
      throw error;
    }
  }

  parseWebhook(request: IncomingWebhook): ParsedWebhook {
    return this.webhooks.parse(request);
  }

  // ---- Plumbing ---------------------------------------------------------------------------------

  /** Follows `@odata.nextLink` from `first`, handing every item to `each`. */
  private async eachPage<T>(
    auth: ProviderAuth,
    method: string,
    first: string,
    prefer: string | undefined,
    each: (item: T) => void,
  ): Promise<void> {
    let path: string | null = first;
    for (let pages = 0; path; pages++) {
      if (pages >= MAX_PAGES) {
        throw new ProviderError(this.name, 'transient', `Microsoft Graph ${method} kept paging past ${MAX_PAGES} pages`);
      }
      const current: string = path;
      const page = (await this.call(auth, method, (client) => {
        const request = client.api(current);
        return (prefer ? request.header('Prefer', prefer) : request).get();
      })) as GraphPage<T>;
      for (const item of page.value ?? []) each(item);
      path = page['@odata.nextLink'] ? this.checkedLink(page['@odata.nextLink']) : null;
    }
  }

  private async findByTransactionId(
    auth: ProviderAuth,
    calendarId: string,
    transactionId: string,
  ): Promise<ExternalEvent | null> {
    const filter = segment(`transactionId eq ${odataString(transactionId)}`);
    const page = (await this.call(auth, 'events.list', (client) =>
      client
        .api(`/me/calendars/${segment(calendarId)}/events?$filter=${filter}&$top=1`)
        .header('Prefer', PREFER_EVENTS)
        .get(),
    )) as GraphPage<GraphEvent>;
    const found = page.value?.[0];
    return found ? fromGraphEvent(found) : null;
  }

  /**
   * A nextLink/deltaLink to GET as is. It must be https (the client strips only an https origin;
   * anything else turns into a broken path) on the configured Graph origin (the token goes nowhere
   * else); one that is not cannot be followed, and a full resync is the way out.
   */
  private checkedLink(link: string): string {
    let origin: string | null;
    try {
      const url = new URL(link);
      origin = url.protocol === 'https:' ? url.origin : null;
    } catch {
      origin = null;
    }
    if (!origin || (this.baseOrigin && origin !== this.baseOrigin)) {
      throw new ProviderError(
        this.name,
        'cursor_expired',
        'The stored Microsoft Graph link is not an https link of the configured Graph endpoint',
      );
    }
    return link;
  }

  private expirationFor(ttlSeconds: number, auth: ProviderAuth): Date {
    const limit = this.lifetimeLimits.get(auth.credentialId) ?? MAX_SUBSCRIPTION_MINUTES;
    const minutes = Math.max(1, Math.min(ttlSeconds / 60, limit));
    return new Date(Date.now() + Math.floor(minutes * 60_000));
  }

  /**
   * Sends a create or renewal with the expiry asked for the credential; refused for its lifetime
   * (nothing was made or changed), sends it once more within the limit Graph named.
   */
  private async withinLifetimeLimit<T>(
    auth: ProviderAuth,
    ttlSeconds: number,
    send: (expiration: Date) => Promise<T>,
  ): Promise<{ result: T; expiration: Date }> {
    const expiration = this.expirationFor(ttlSeconds, auth);
    try {
      return { result: await send(expiration), expiration };
    } catch (error) {
      if (!this.learnLifetimeLimit(error, expiration, auth)) throw error;
      const within = this.expirationFor(ttlSeconds, auth);
      return { result: await send(within), expiration: within };
    }
  }

  /**
   * A create or renewal Graph refused because `asked` lies further out than it allows: the limit
   * its message names (less a margin) is kept for the credential's later requests, and true says
   * the request may be sent again with an expiry within it. False for any other failure, and for a
   * limit that would not shorten what was asked (sending it again would only be refused again).
   */
  private learnLifetimeLimit(error: unknown, asked: Date, auth: ProviderAuth): boolean {
    if (!isProviderError(error, 'bad_request')) return false;
    const named = EXPIRATION_LIMIT.exec(error.message);
    if (!named) return false;
    const limit = Number(named[1]) - LIMIT_MARGIN_MINUTES;
    if (!(limit >= 1) || limit * 60_000 >= asked.getTime() - Date.now()) return false;
    if (limit < (this.lifetimeLimits.get(auth.credentialId) ?? MAX_SUBSCRIPTION_MINUTES)) {
      this.lifetimeLimits.set(auth.credentialId, limit);
      this.logger.warn(
        `Microsoft Graph allows credential ${auth.credentialId}'s subscriptions at most ${named[1]} minutes ahead: ` +
          `they are asked for ${limit} minutes from now on`,
      );
    }
    return true;
  }

  /**
   * One Graph request with its retries: rate limits and passing faults through `withProviderRetry`,
   * and one more attempt with a refreshed token after a 401.
   */
  private async call<T>(
    auth: ProviderAuth,
    method: string,
    request: (client: Client) => Promise<T>,
    retryIf?: (error: ProviderError) => boolean,
  ): Promise<T> {
    const session: AuthSession = { sent: null, rejected: null, failure: null, answerHeaders: null };
    const client = this.client(auth, session);
    const send = () => this.inMailboxSlot(auth.credentialId, () => this.attempt(method, session, () => request(client)));
    let refreshedAfter401 = false;
    return withProviderRetry(
      async () => {
        try {
          return await send();
        } catch (error) {
          if (!isProviderError(error, 'unauthorized') || refreshedAfter401) throw error;
          // Graph rejected a token we thought valid (revoked, rotated, clock skew): refresh once.
          refreshedAfter401 = true;
          session.rejected = session.sent;
          return await send();
        }
      },
      undefined,
      retryIf,
    );
  }

  /**
   * Outlook throttles a mailbox's fifth concurrent request of an app (429 MailboxConcurrency):
   * requests for one credential (one mailbox) wait for one of `MAILBOX_CONCURRENCY` slots, whichever
   * path sends them (a sync's listing and its look-ups, busy reads over several calendars, the
   * subscribe sweep, writes). Per process: replicas share the limit only through Graph's 429s,
   * which the retries absorb. A credential's limiter is dropped once it has nothing in flight.
   */
  private inMailboxSlot<T>(credentialId: number, send: () => Promise<T>): Promise<T> {
    let limit = this.mailboxSlots.get(credentialId);
    if (!limit) {
      limit = pLimit(MAILBOX_CONCURRENCY);
      this.mailboxSlots.set(credentialId, limit);
    }
    const slots = limit;
    return slots(send).finally(() => {
      if (slots.activeCount === 0 && slots.pendingCount === 0 && this.mailboxSlots.get(credentialId) === slots) {
        this.mailboxSlots.delete(credentialId);
      }
    });
  }

  private async attempt<T>(method: string, session: AuthSession, send: () => Promise<T>): Promise<T> {
    session.answerHeaders = null;
    const started = performance.now();
    try {
      const result = await send();
      this.metrics.recordProviderCall({ provider: this.name, method, result: 'ok' }, started);
      return result;
    } catch (error) {
      // A token failure inside the client comes back wrapped in a GraphError: use the original.
      const mapped = session.failure ?? toGraphProviderError(error, method, session.answerHeaders);
      session.failure = null;
      this.metrics.recordProviderCall({ provider: this.name, method, result: mapped.kind }, started);
      throw mapped;
    }
  }

  private async measured<T>(method: string, call: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      const result = await call();
      this.metrics.recordProviderCall({ provider: this.name, method, result: 'ok' }, started);
      return result;
    } catch (error) {
      const kind = error instanceof ProviderError ? error.kind : 'permanent';
      this.metrics.recordProviderCall({ provider: this.name, method, result: kind }, started);
      throw error;
    }
  }

  private client(auth: ProviderAuth, session: AuthSession): Client {
    const authProvider: AuthenticationProvider = {
      getAccessToken: async () => {
        try {
          const token = await this.tokens.accessToken(auth, session.rejected);
          session.sent = token;
          return token;
        } catch (error) {
          session.failure = error instanceof ProviderError ? error : toGraphProviderError(error, 'oauth.refresh');
          throw error;
        }
      },
    };
    return Client.initWithMiddleware({
      baseUrl: this.baseUrl,
      defaultVersion: 'v1.0',
      customHosts: this.customHosts,
      middleware: [
        new AuthenticationHandler(authProvider),
        new TelemetryHandler(),
        new GraphHttpHandler(this.http.fetch, (response) => {
          session.answerHeaders = response.headers;
        }),
      ],
    });
  }
}

/** No answer, or a server-side failure: the request may have been carried out all the same. */
function answerMayBeLost(error: unknown): boolean {
  if (!(error instanceof ProviderError)) return false;
  return error.kind === 'timeout' || (error.kind === 'transient' && (error.status === null || error.status >= 500));
}

/** Graph lists a subscription's resource as it was given, with or without the leading slash. */
function sameResource(listed: string | undefined, wanted: string): boolean {
  if (!listed) return false;
  const bare = (value: string) => safeDecode(value.replace(/^\/+/, ''));
  return bare(listed) === bare(wanted);
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

function parseDate(value: string | undefined | null): Date | null {
  if (!value) return null;
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : new Date(at);
}

/** The input's times in UTC, as Graph writes them. */
function utcTimes(input: EventInput): Pick<GraphEventBody, 'start' | 'end'> {
  return { start: utcTime(input.start), end: utcTime(input.end) };
}

/** Whether the event starts and ends at these instants. */
function atInstants(event: ExternalEvent, start: Date | null, end: Date | null): boolean {
  return event.start?.getTime() === start?.getTime() && event.end?.getTime() === end?.getTime();
}

/**
 * Graph refused the zone the times were written in (400 `TimeZoneNotSupportedException`: a
 * Windows name this Exchange does not know): they are written in UTC instead.
 */
function isZoneRefused(error: unknown, body: Partial<Pick<GraphEventBody, 'start' | 'end'>>): boolean {
  return (
    isProviderError(error, 'bad_request') &&
    error.code === 'TimeZoneNotSupportedException' &&
    ((body.start !== undefined && body.start.timeZone !== 'UTC') || (body.end !== undefined && body.end.timeZone !== 'UTC'))
  );
}

/**
 * The create's transactionId: the booking's key, and for an event made again after the host
 * deleted it, that key and a digest of the deleted event's id. Graph does not document whether a
 * deleted event frees its transactionId; if it does not, the first key would be refused (as a
 * different event) with nothing to find, on every attempt. Stable across retries of one re-create
 * (the deleted event's id stays the booking's until the create succeeds); a later deletion and
 * re-create gets a key of its own.
 */
export function transactionIdFor(idempotencyKey: string, replaces?: string | null): string {
  if (!replaces) return idempotencyKey;
  return `${idempotencyKey}~${createHash('sha256').update(replaces).digest('hex').slice(0, 16)}`;
}

/** How much older than the request an event must be to be an earlier attempt's (clocks differ; a create takes time). */
const EARLIER_ATTEMPT_MARGIN_MS = 60_000;

/**
 * Whether a create's answer is an event an earlier attempt made and someone changed since: created
 * more than `EARLIER_ATTEMPT_MARGIN_MS` before this request was sent, and modified more than a
 * second after it was created (a create answers both times alike, or within a moment). Unknown
 * times: false (the event is taken as this request's, as before).
 */
export function earlierAttemptsEditedEvent(
  event: Pick<GraphEvent, 'createdDateTime' | 'lastModifiedDateTime'>,
  sentAt: number,
): boolean {
  const created = Date.parse(event.createdDateTime ?? '');
  const modified = Date.parse(event.lastModifiedDateTime ?? '');
  if (!Number.isFinite(created) || !Number.isFinite(modified)) return false;
  return created < sentAt - EARLIER_ATTEMPT_MARGIN_MS && modified - created > 1000;
}
