import { Inject, Injectable, Logger } from '@nestjs/common';
// Only the Calendar API of googleapis: its root module loads every Google API's definitions, about
// 100 MB of RSS (55 MB of heap) for one API we use (measured on Node 20, googleapis 176).
import { auth as googleAuth, calendar, calendar_v3 } from 'googleapis/build/src/apis/calendar/index.js';
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
import type { AuthorizationGrant, ProviderAuth, ProviderTokens } from '../provider-auth.js';
import { ProviderError, type ProviderErrorKind, isProviderError } from '../provider.errors.js';
import { AccessTokens } from '../access-tokens.js';
import { withProviderRetry } from '../retry-policy.js';
import { applyGuests, sameGuests } from '../guests.js';
import { toGoogleProviderError } from './google-errors.js';
import { GOOGLE_EVENT_FIELDS, fromGoogleEvent, googleEventIdFor, toGoogleEventBody } from './google-event.mapper.js';
import { GoogleWebhookParser } from './google-webhook.js';
import type { IncomingWebhook, ParsedWebhook } from '../webhook.js';
import { WebhookSecrets } from '../webhook-secrets.js';

const MAX_PAGE_SIZE = 2500;
/** A short window (a conflict check's) that pages on past this many full pages is a calendar gone wild. */
const MAX_WINDOW_PAGES = 20;
/** A change listing's page: its events as the mapper reads them, and the tokens that continue it. */
const LISTING_FIELDS = `nextPageToken,nextSyncToken,items(${GOOGLE_EVENT_FIELDS})`;
const GOOGLE_SCOPES = ['https://www.googleapis.com/auth/calendar.events', 'https://www.googleapis.com/auth/calendar.readonly'];
/** Grants everything GOOGLE_SCOPES asks for. */
const GOOGLE_FULL_CALENDAR_SCOPE = 'https://www.googleapis.com/auth/calendar';

/**
 * The scopes of GOOGLE_SCOPES the token response's `scope` (space-separated) lacks: Google's
 * consent screen lets the user untick each one. No `scope` in the answer means all were granted.
 */
export function missingGoogleScopes(granted: string | null | undefined): string[] {
  if (granted === undefined || granted === null) return [];
  const scopes = new Set(granted.split(/\s+/).filter(Boolean));
  if (scopes.has(GOOGLE_FULL_CALENDAR_SCOPE)) return [];
  return GOOGLE_SCOPES.filter((scope) => !scopes.has(scope));
}

/** Google Calendar v3 through the official googleapis client, pointed at `GOOGLE_API_ROOT_URL`. */
@Injectable()
export class GoogleCalendarProvider extends CalendarProvider {
  readonly name = 'google_calendar' as const;
  /** A syncToken follows the whole calendar, whatever window the full listing had. */
  readonly cursorScope = 'calendar' as const;
  readonly webhookBaseUrl: string;
  readonly webhookSecrets: WebhookSecrets;
  private readonly webhooks: GoogleWebhookParser;
  private readonly logger = new Logger('GoogleCalendarProvider');
  private readonly tokens = new AccessTokens({ refresh: (refreshToken) => this.refresh(refreshToken) }, this.logger);

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly metrics: MetricsService,
  ) {
    super();
    this.webhookBaseUrl = config.google.webhookUrl;
    this.webhookSecrets = new WebhookSecrets(config.google.webhookToken, config.google.webhookTokenPrevious);
    this.webhooks = new GoogleWebhookParser(this.webhookSecrets);
  }

  parseWebhook(request: IncomingWebhook): ParsedWebhook {
    return this.webhooks.parse(request);
  }

  authorizeUrl(redirectUri: string, state: string, loginHint?: string, codeChallenge?: string): string {
    const url = new URL(this.config.google.oauthAuthorizeUrl);
    url.search = new URLSearchParams({
      client_id: this.config.google.clientId,
      redirect_uri: redirectUri,
      response_type: 'code',
      access_type: 'offline',
      prompt: 'consent',
      include_granted_scopes: 'true',
      scope: GOOGLE_SCOPES.join(' '),
      state,
      ...(loginHint ? { login_hint: loginHint } : {}),
      ...(codeChallenge ? { code_challenge: codeChallenge, code_challenge_method: 'S256' } : {}),
    }).toString();
    return url.toString();
  }

  async exchangeCode(code: string, redirectUri: string, codeVerifier?: string): Promise<AuthorizationGrant> {
    const oauth = this.oauthClient();
    const started = performance.now();
    try {
      const { tokens } = await oauth.getToken({ code, redirect_uri: redirectUri, ...(codeVerifier ? { codeVerifier } : {}) });
      this.metrics.recordProviderCall({ provider: this.name, method: 'oauth.token', result: 'ok' }, started);
      if (!tokens.access_token || !tokens.refresh_token) {
        throw new ProviderError(this.name, 'bad_request', 'Google did not return a refresh token; grant offline access again');
      }
      return {
        accessToken: tokens.access_token,
        refreshToken: tokens.refresh_token,
        expiresAt: tokens.expiry_date ?? null,
        missingScopes: missingGoogleScopes(tokens.scope),
      };
    } catch (error) {
      const mapped = toGoogleProviderError(error, 'oauth.token');
      this.metrics.recordProviderCall({ provider: this.name, method: 'oauth.token', result: mapped.kind }, started);
      throw mapped.kind === 'auth_revoked' ? new ProviderError(this.name, 'bad_request', mapped.message, mapped.status) : mapped;
    }
  }

  async listCalendars(auth: ProviderAuth): Promise<ExternalCalendar[]> {
    const calendars: ExternalCalendar[] = [];
    let pageToken: string | undefined;
    do {
      const page = await this.call(auth, 'calendarList.list', (api) => api.calendarList.list({ maxResults: 250, pageToken }));
      for (const item of page.items ?? []) {
        calendars.push({
          id: item.id ?? '',
          name: item.summaryOverride ?? item.summary ?? item.id ?? '',
          primary: Boolean(item.primary),
          timeZone: item.timeZone ?? null,
          accessRole: item.accessRole ?? null,
        });
      }
      pageToken = page.nextPageToken ?? undefined;
    } while (pageToken);
    return calendars;
  }

  async createEvent(auth: ProviderAuth, calendarId: string, input: CreateEventInput): Promise<ExternalEvent> {
    const id = googleEventIdFor(input.idempotencyKey);
    try {
      const created = await this.call(auth, 'events.insert', (api) =>
        api.events.insert({
          calendarId,
          sendUpdates: 'all',
          // The id alone: Google documents that only one of `id` and `iCalUID` be supplied at creation;
          // it then gives the event the iCalUID `<id>@google.com`, which a move to another calendar keeps.
          requestBody: { ...toGoogleEventBody(input), id },
        }),
      );
      return fromGoogleEvent(created);
    } catch (error) {
      if (!isProviderError(error, 'conflict')) throw error;
      // The id is taken: a retried create whose first attempt landed, or the event's own deleted
      // self (written back after a discarded hold). A live one is returned as it is now (the host
      // may have edited it since the first attempt: the caller settles that by the later intent);
      // a cancelled one is revived with the input, based on the version just read.
      const existing = await this.call(auth, 'events.get', (api) => api.events.get({ calendarId, eventId: id }));
      if (existing.status !== 'cancelled') return { ...fromGoogleEvent(existing), preexisting: true };
      const headers = existing.etag ? { 'If-Match': existing.etag } : undefined;
      const revived = await this.call(auth, 'events.patch', (api) =>
        api.events.patch(
          {
            calendarId,
            eventId: id,
            sendUpdates: 'all',
            requestBody: { ...toGoogleEventBody(input), status: 'confirmed' },
          },
          { headers },
        ),
      );
      return fromGoogleEvent(revived);
    }
  }

  async updateEvent(
    auth: ProviderAuth,
    calendarId: string,
    eventId: string,
    input: EventInput,
    options: UpdateEventOptions = {},
  ): Promise<ExternalEvent> {
    // Google's patch replaces `attendees` whole: an entry without `responseStatus` is reset to
    // needsAction, and rooms and the organizer's entry calsync does not track would go.
    const { attendees: _attendees, ...fields } = toGoogleEventBody(input);
    // Only what changes (`fieldsToWrite`): the description calsync knows may be the text of HTML.
    const write = fieldsToWrite(input, options.fieldsBefore);
    const requestBody: calendar_v3.Schema$Event = {
      ...(write.title ? { summary: fields.summary } : {}),
      ...(write.description ? { description: fields.description } : {}),
      ...(write.location ? { location: fields.location } : {}),
      ...(write.times ? { start: fields.start, end: fields.end } : {}),
    };
    let ifMatch = options.ifMatch ?? null;
    if (!options.guestsBefore || !sameGuests(options.guestsBefore, input.attendees)) {
      // The guests change: read the entries as they are, and change only those guests.
      const current = await this.call(auth, 'events.get', (api) =>
        api.events.get({ calendarId, eventId, fields: 'etag,organizer/email,attendees' }),
      );
      if (ifMatch && current.etag !== ifMatch) {
        throw new ProviderError(this.name, 'precondition_failed', `Event ${eventId} changed since version ${ifMatch}`, 412);
      }
      const organizer = current.organizer?.email?.toLowerCase();
      requestBody.attendees = applyGuests(current.attendees ?? [], input.attendees, {
        email: (a) => a.email ?? null,
        keep: (a) => Boolean(a.resource || a.organizer || (organizer && a.email?.toLowerCase() === organizer)),
        rename: (a, name) => ({ ...a, displayName: name }),
        add: (g) => ({ email: g.email, ...(g.name ? { displayName: g.name } : {}) }),
      });
      ifMatch = current.etag ?? ifMatch;
    }
    const headers = ifMatch ? { 'If-Match': ifMatch } : undefined;
    const updated = await this.call(auth, 'events.patch', (api) =>
      api.events.patch({ calendarId, eventId, sendUpdates: 'all', requestBody }, { headers }),
    );
    return fromGoogleEvent(updated);
  }

  async deleteEvent(auth: ProviderAuth, calendarId: string, eventId: string): Promise<void> {
    try {
      await this.call(auth, 'events.delete', (api) => api.events.delete({ calendarId, eventId, sendUpdates: 'all' }));
    } catch (error) {
      if (isProviderError(error, 'gone') || isProviderError(error, 'not_found')) return;
      throw error;
    }
  }

  async getEvent(auth: ProviderAuth, calendarId: string, eventId: string): Promise<ExternalEvent | null> {
    try {
      return fromGoogleEvent(await this.call(auth, 'events.get', (api) => api.events.get({ calendarId, eventId })));
    } catch (error) {
      if (isProviderError(error, 'not_found') || isProviderError(error, 'gone')) return null;
      throw error;
    }
  }

  /** `replaces` is not needed: the booking's event id is its key's, and a create over a deleted one revives it. */
  async findCreated(auth: ProviderAuth, calendarId: string, idempotencyKey: string): Promise<ExternalEvent | null> {
    const event = await this.getEvent(auth, calendarId, googleEventIdFor(idempotencyKey));
    return event && event.status !== 'cancelled' ? event : null;
  }

  async findByICalUID(auth: ProviderAuth, calendarId: string, iCalUID: string): Promise<ExternalEvent[]> {
    // Not expanded into occurrences: an event the host made recurring is found as its series (the
    // event calsync wrote, under its own id), as Graph finds it; its changed occurrences come after.
    const page = await this.call(auth, 'events.list', (api) =>
      api.events.list({ calendarId, iCalUID, singleEvents: false, maxResults: 50, fields: `items(${GOOGLE_EVENT_FIELDS})` }),
    );
    return (page.items ?? [])
      .map(fromGoogleEvent)
      .filter((e) => e.status !== 'cancelled')
      .sort((a, b) => Number(a.recurringEventId !== null) - Number(b.recurringEventId !== null));
  }

  async eventsIn(auth: ProviderAuth, calendarId: string, range: { start: Date; end: Date }): Promise<ExternalEvent[]> {
    const events: ExternalEvent[] = [];
    let pageToken: string | undefined;
    for (let pages = 0; ; pages++) {
      if (pages >= MAX_WINDOW_PAGES) {
        throw new ProviderError(this.name, 'transient', `Google events.list kept paging past ${MAX_WINDOW_PAGES} pages`);
      }
      const page = await this.call(auth, 'events.list', (api) =>
        api.events.list({
          calendarId,
          singleEvents: true,
          timeMin: range.start.toISOString(),
          timeMax: range.end.toISOString(),
          maxResults: MAX_PAGE_SIZE,
          pageToken,
          fields: `nextPageToken,items(${GOOGLE_EVENT_FIELDS})`,
        }),
      );
      for (const item of page.items ?? []) events.push(fromGoogleEvent(item));
      pageToken = page.nextPageToken ?? undefined;
      if (!pageToken) return events;
    }
  }

  async listChanges(auth: ProviderAuth, input: ListChangesInput): Promise<ChangePage> {
    const params: calendar_v3.Params$Resource$Events$List = {
      calendarId: input.calendarId,
      singleEvents: true,
      maxResults: MAX_PAGE_SIZE,
      pageToken: input.pageToken ?? undefined,
      fields: LISTING_FIELDS,
    };
    if (input.cursor) {
      params.syncToken = input.cursor;
    } else {
      params.timeMin = input.window.start.toISOString();
      params.timeMax = input.window.end.toISOString();
    }
    const page = await this.call(auth, 'events.list', (api) => api.events.list(params));
    return {
      events: (page.items ?? []).map(fromGoogleEvent),
      nextPageToken: page.nextPageToken ?? null,
      nextCursor: page.nextSyncToken ?? null,
    };
  }

  async watch(auth: ProviderAuth, calendarId: string, input: WatchInput): Promise<ChannelHandle> {
    const channel = await this.call(auth, 'events.watch', (api) =>
      api.events.watch({
        calendarId,
        requestBody: {
          id: input.channelId,
          type: 'web_hook',
          address: input.address,
          token: this.config.google.webhookToken,
          params: { ttl: String(input.ttlSeconds) },
        },
      }),
    );
    // Google sends `expiration` as epoch ms, sometimes a number and sometimes a string.
    const expiration = Number(channel.expiration);
    return {
      id: channel.id ?? input.channelId,
      resourceId: channel.resourceId ?? null,
      resourceUri: channel.resourceUri ?? null,
      kind: channel.kind ?? 'api#channel',
      expiration: new Date(Number.isFinite(expiration) && expiration > 0 ? expiration : Date.now() + input.ttlSeconds * 1000),
      secretFingerprint: this.webhookSecrets.fingerprint,
    };
  }

  /** Google channels cannot be extended: a new one is opened, and the caller stops the old one after storing it. */
  async renew(
    auth: ProviderAuth,
    calendarId: string,
    _current: ChannelHandle,
    input: WatchInput,
  ): Promise<{ channel: ChannelHandle; replaces: boolean }> {
    return { channel: await this.watch(auth, calendarId, input), replaces: true };
  }

  /** Google has no reauthorization: renewing is the answer. */
  reauthorize(
    auth: ProviderAuth,
    calendarId: string,
    current: ChannelHandle,
    input: WatchInput,
  ): Promise<{ channel: ChannelHandle; replaces: boolean }> {
    return this.renew(auth, calendarId, current, input);
  }

  async stopWatch(auth: ProviderAuth, channel: ChannelHandle): Promise<void> {
    try {
      await this.call(auth, 'channels.stop', (api) =>
        api.channels.stop({ requestBody: { id: channel.id, resourceId: channel.resourceId ?? undefined } }),
      );
    } catch (error) {
      if (isProviderError(error, 'not_found') || isProviderError(error, 'gone')) return;
      throw error;
    }
  }

  async busyTimes(
    auth: ProviderAuth,
    calendarIds: string[],
    range: { start: Date; end: Date; timeZone: string },
  ): Promise<Map<string, BusyInterval[]>> {
    // freeBusy reports intervals, not events: Google itself places all-day events (in the
    // calendar's zone); `timeZone` only sets the zone of the answer.
    const result = await this.call(auth, 'freebusy.query', (api) =>
      api.freebusy.query({
        requestBody: {
          timeMin: range.start.toISOString(),
          timeMax: range.end.toISOString(),
          timeZone: range.timeZone,
          items: calendarIds.map((id) => ({ id })),
        },
      }),
    );
    const busy = new Map<string, BusyInterval[]>();
    for (const id of calendarIds) {
      const entry = result.calendars?.[id];
      if (entry?.errors?.length) {
        const reason = entry.errors[0]?.reason ?? 'error';
        throw new ProviderError('google_calendar', freeBusyErrorKind(reason), `Google freeBusy: ${reason} for a calendar`);
      }
      busy.set(
        id,
        (entry?.busy ?? []).map((b) => ({ start: new Date(b.start ?? ''), end: new Date(b.end ?? '') })),
      );
    }
    return busy;
  }

  private async call<T>(
    auth: ProviderAuth,
    method: string,
    request: (api: calendar_v3.Calendar) => Promise<{ data: T }>,
  ): Promise<T> {
    const attempt = async (accessToken: string): Promise<T> => {
      const started = performance.now();
      try {
        const response = await request(this.api(accessToken));
        this.metrics.recordProviderCall({ provider: this.name, method, result: 'ok' }, started);
        return response.data;
      } catch (error) {
        const mapped = toGoogleProviderError(error, method);
        this.metrics.recordProviderCall({ provider: this.name, method, result: mapped.kind }, started);
        throw mapped;
      }
    };
    return withProviderRetry(async () => {
      const token = await this.tokens.accessToken(auth);
      try {
        return await attempt(token);
      } catch (error) {
        if (!isProviderError(error, 'unauthorized')) throw error;
        // Google rejected a token we thought valid (revoked, rotated): refresh once and try again.
        return attempt(await this.tokens.accessToken(auth, token));
      }
    });
  }

  private oauthClient() {
    return new googleAuth.OAuth2({
      clientId: this.config.google.clientId,
      clientSecret: this.config.google.clientSecret,
      endpoints: { oauth2TokenUrl: this.config.google.oauthTokenUrl },
      transporterOptions: { timeout: this.config.providerTimeoutMs },
    });
  }

  /** Exchanges the refresh token at Google's token endpoint (one at a time per credential: AccessTokens). */
  private async refresh(refreshToken: string): Promise<ProviderTokens> {
    const oauth = this.oauthClient();
    oauth.setCredentials({ refresh_token: refreshToken });
    const started = performance.now();
    try {
      await oauth.getAccessToken();
      this.metrics.recordProviderCall({ provider: this.name, method: 'oauth.refresh', result: 'ok' }, started);
    } catch (error) {
      const mapped = toGoogleProviderError(error, 'oauth.refresh');
      this.metrics.recordProviderCall({ provider: this.name, method: 'oauth.refresh', result: mapped.kind }, started);
      throw mapped;
    }
    const { access_token: accessToken, refresh_token: rotated, expiry_date: expiresAt } = oauth.credentials;
    if (!accessToken) throw new ProviderError(this.name, 'transient', 'Google refreshed without an access token');
    return { accessToken, refreshToken: rotated ?? refreshToken, expiresAt: expiresAt ?? null };
  }

  /**
   * A client acting with one access token that AccessTokens keeps fresh: it holds no refresh token,
   * so it never refreshes on its own (refreshes are serialised per credential there).
   */
  private api(accessToken: string): calendar_v3.Calendar {
    const oauth = this.oauthClient();
    oauth.setCredentials({ access_token: accessToken });
    return calendar({
      version: 'v3',
      rootUrl: this.config.google.apiRootUrl,
      auth: oauth,
      // Retries are ours (withProviderRetry): gaxios' own ignore 403 rate limits and Retry-After.
      retry: false,
      // A hung connection must not hold a calendar's queue, a live request or shutdown.
      timeout: this.config.providerTimeoutMs,
    });
  }
}

/**
 * The kind of one calendar's error inside a freeBusy answer (a 200 for the whole request): gone, or
 * not shared with the user, is `notFound`; Google's side failing for that calendar
 * (`internalError`, `backendError`) is worth another try; anything else is not.
 */
export function freeBusyErrorKind(reason: string): ProviderErrorKind {
  if (reason === 'notFound') return 'not_found';
  if (reason === 'internalError' || reason === 'backendError') return 'transient';
  return 'permanent';
}
