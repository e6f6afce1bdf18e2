import type http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { AuthState } from './auth.js';
import { CONTROL_PREFIX, handleControl } from './control-routes.js';
import { EmulatorError, GraphApiError } from './errors.js';
import { renderEvent, UTC_CONTEXT } from './event-json.js';
import { type CalendarState, type ChangeNotice, etagOf, EventStore, type StoredEvent } from './event-store.js';
import { FaultState, type MicrosoftFaults } from './faults.js';
import { errorReply, GraphApi } from './graph-routes.js';
import { writeReply } from './http-util.js';
import { newGuid } from './ids.js';
import { NotificationSender } from './notification-sender.js';
import { type ConsentChoice, handleAuthorize, handleToken, oauthEndpoint } from './oauth-routes.js';
import { loadStateFile, STATE_FORMAT, type StateFileContent, StateSaver } from './persistence.js';
import { applySnapshot, type EmulatorSnapshot, takeSnapshot } from './snapshot.js';
import { isLive, type Subscription, subscriptionInfo } from './subscriptions.js';
import { exchangeZoneOverrides, parseBoundary, resolveTimeZone } from './time.js';
import { createTlsMaterial, isUsableTlsMaterial, type TlsMaterial } from './tls.js';
import type {
  AccountInfo,
  CalendarInfo,
  CallRecord,
  EmulatorOptions,
  EventInput,
  EventPatch,
  GraphEvent,
  LifecycleEvent,
  NotificationLogEntry,
  SubscriptionInfo,
} from './types.js';
import { WebhookClient } from './webhook-client.js';

const DEFAULT_MAX_SUBSCRIPTION_MINUTES = 10_080;
const DEFAULT_ACCESS_TOKEN_TTL_SECONDS = 3600;
const DEFAULT_VALIDATION_TIMEOUT_MS = 10_000;

type ResolvedOptions = Required<Omit<EmulatorOptions, 'stateFile'>> & { stateFile?: string };

/**
 * A Microsoft Graph v1.0 (calendars, events, calendarView + delta, getSchedule, subscriptions) and Microsoft
 * identity platform (authorize, token) server on loopback HTTPS, which the real @microsoft/microsoft-graph-client
 * talks to unchanged (baseUrl pointed at it, its CA trusted). State lives in memory (and in `stateFile` when
 * given); tests drive "the user edits in Outlook" through the methods below, and make the server misbehave
 * through `faults`.
 */
export class MicrosoftGraphEmulator {
  readonly faults: MicrosoftFaults;
  private readonly faultState: FaultState;
  private readonly store: EventStore;
  private readonly auth: AuthState;
  private readonly subs = new Map<string, Subscription>();
  private readonly webhooks = new WebhookClient();
  private readonly sender: NotificationSender;
  private readonly api: GraphApi;
  private readonly callLog: CallRecord[] = [];
  private readonly validationLog: NotificationLogEntry[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly server: https.Server;
  private readonly tls: TlsMaterial;
  private saver: StateSaver | undefined;
  private tenant = newGuid();
  private baseUrl = '';
  private stopping: Promise<void> | undefined;
  private consent: ConsentChoice | undefined;

  private constructor(
    private readonly options: ResolvedOptions,
    saved: StateFileContent | undefined,
  ) {
    this.faultState = new FaultState({
      invalidateDeltaTokens: (calendarId, as) => {
        const cals = calendarId === undefined ? [...this.store.calendars.values()] : [this.calendar(calendarId)];
        for (const cal of cals) this.store.invalidateDeltaTokens(cal, as);
        this.touch();
      },
      releaseNotifications: (reverse) => this.sender.release(reverse),
    });
    this.faults = this.faultState;
    this.store = new EventStore((notice) => this.notify(notice));
    this.auth = new AuthState(options.accessTokenTtlSeconds, () => this.tenant);
    this.sender = new NotificationSender(
      this.faultState,
      this.webhooks,
      () => this.tenant,
      () => options.echoNotifications,
    );
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the URL is only known after listen()
    const self = this;
    const ctx = {
      store: this.store,
      auth: this.auth,
      faults: this.faultState,
      subscriptions: this.subs,
      webhooks: this.webhooks,
      maxSubscriptionMinutes: options.maxSubscriptionMinutes,
      validationTimeoutMs: options.validationTimeoutMs,
      get url() {
        return self.baseUrl;
      },
      recordCall: (call: CallRecord) => this.callLog.push(call),
      logNotification: (entry: NotificationLogEntry) => this.validationLog.push(entry),
      sleep: (ms: number) => this.sleep(ms),
      defaultCalendar: (email: string) => this.defaultCalendarOf(email),
      createAccount: (email: string) => void this.addAccount({ email }),
      takeConsent: () => {
        const choice = this.consent;
        this.consent = undefined;
        return choice;
      },
    };
    this.api = new GraphApi(ctx);
    this.tls = saved && isUsableTlsMaterial(saved.tls) ? saved.tls : createTlsMaterial();
    if (saved) this.restore(saved.state as EmulatorSnapshot);
    this.server = https.createServer({ key: this.tls.keyPem, cert: this.tls.certChainPem, keepAliveTimeout: 5000 }, (req, res) =>
      this.onRequest(req, res, ctx),
    );
  }

  static async start(options: EmulatorOptions = {}): Promise<MicrosoftGraphEmulator> {
    const saved = options.stateFile ? loadStateFile(options.stateFile) : undefined;
    const emu = new MicrosoftGraphEmulator(
      {
        port: options.port ?? 0,
        host: options.host ?? '127.0.0.1',
        maxSubscriptionMinutes: options.maxSubscriptionMinutes ?? DEFAULT_MAX_SUBSCRIPTION_MINUTES,
        accessTokenTtlSeconds: options.accessTokenTtlSeconds ?? DEFAULT_ACCESS_TOKEN_TTL_SECONDS,
        validationTimeoutMs: options.validationTimeoutMs ?? DEFAULT_VALIDATION_TIMEOUT_MS,
        echoNotifications: options.echoNotifications ?? true,
        stateFile: options.stateFile,
      },
      saved,
    );
    await new Promise<void>((resolve, reject) => {
      emu.server.once('error', reject);
      emu.server.listen(emu.options.port, emu.options.host, () => {
        emu.server.off('error', reject);
        resolve();
      });
    });
    const { port } = emu.server.address() as AddressInfo;
    const host = emu.options.host.includes(':') ? `[${emu.options.host}]` : emu.options.host;
    emu.baseUrl = `https://${host}:${port}`;
    if (options.stateFile) {
      emu.saver = new StateSaver(options.stateFile, () => emu.stateFileContent());
      await emu.saveState();
    }
    return emu;
  }

  /** What to pass as the Graph client's `baseUrl` (no trailing slash, no version). */
  get url(): string {
    return this.baseUrl;
  }

  get graphUrl(): string {
    return `${this.baseUrl}/v1.0`;
  }

  get tokenUrl(): string {
    return `${this.baseUrl}/common/oauth2/v2.0/token`;
  }

  get authorizeUrl(): string {
    return `${this.baseUrl}/common/oauth2/v2.0/authorize`;
  }

  /** PEM of the CA that signed the server certificate (SAN: 127.0.0.1, ::1, localhost): trust this one. */
  get caCertificate(): string {
    return this.tls.caPem;
  }

  /** The tenant id notifications and id_tokens carry. */
  get tenantId(): string {
    return this.tenant;
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.sender.stop();
      this.faultState.wipe();
      exchangeZoneOverrides.clear();
      for (const t of this.timers) clearTimeout(t);
      this.timers.clear();
      await new Promise<void>((resolve) => {
        this.server.close(() => resolve());
        this.server.closeAllConnections();
      });
      this.webhooks.destroy();
      await this.saver?.stop();
    })();
    return this.stopping;
  }

  // ---- accounts ----------------------------------------------------------------------------------

  /**
   * Adds an account with its default calendar ("Calendar"); adding a known email just adds the given (or new)
   * tokens to it. The tokens carry every calendar scope and offline_access.
   */
  addAccount(input: { email: string; refreshToken?: string; accessToken?: string; timeZone?: string }): {
    email: string;
    userId: string;
    accessToken: string;
    refreshToken: string;
    /** The default calendar's id. */
    calendarId: string;
  } {
    if (!input || typeof input.email !== 'string' || !/^[^@\s]+@[^@\s]+$/.test(input.email)) {
      throw new EmulatorError(400, 'addAccount needs an email address');
    }
    const timeZone = input.timeZone ?? 'UTC';
    if (!resolveTimeZone(timeZone)) throw new EmulatorError(400, `invalid time zone ${timeZone}`);
    const { account, created, refreshToken, accessToken } = this.auth.ensureAccount({ ...input, timeZone });
    if (created) this.store.addCalendar({ ownerEmail: account.email, name: 'Calendar', isDefault: true });
    this.touch();
    return {
      email: account.email,
      userId: account.userId,
      accessToken,
      refreshToken,
      calendarId: this.defaultCalendarOf(account.email).id,
    };
  }

  accounts(): AccountInfo[] {
    return [...this.auth.accounts.values()].map((a) => ({ ...a, defaultCalendarId: this.defaultCalendarOf(a.email).id }));
  }

  defaultCalendarId(email: string): string {
    return this.defaultCalendarOf(email).id;
  }

  /** Adds a secondary calendar to an account. */
  addCalendar(email: string, input: { id?: string; name: string }): { id: string; name: string } {
    const account = this.auth.account(email);
    if (!account) throw new EmulatorError(404, `no account ${email}`);
    if (!input || typeof input.name !== 'string' || !input.name) throw new EmulatorError(400, 'addCalendar needs a name');
    if (input.id !== undefined && this.store.calendars.has(input.id))
      throw new EmulatorError(409, `calendar ${input.id} already exists`);
    const cal = this.store.addCalendar({ id: input.id, ownerEmail: account.email, name: input.name, isDefault: false });
    this.touch();
    return { id: cal.id, name: cal.name };
  }

  calendars(email?: string): CalendarInfo[] {
    const owner = email === undefined ? undefined : this.auth.account(email)?.email;
    if (email !== undefined && !owner) throw new EmulatorError(404, `no account ${email}`);
    return [...this.store.calendars.values()]
      .filter((c) => owner === undefined || c.ownerEmail === owner)
      .map((c) => ({ id: c.id, name: c.name, ownerEmail: c.ownerEmail, isDefaultCalendar: c.isDefault }));
  }

  /** Later refreshes answer invalid_grant (AADSTS70000) and the grant's access tokens answer 401. */
  revokeRefreshToken(refreshToken: string): void {
    this.explain('revokeRefreshToken', () => this.auth.revokeRefreshToken(refreshToken));
    this.touch();
  }

  /** Every access token issued so far answers 401 (expired); refresh tokens keep working. */
  expireAccessTokens(): void {
    this.auth.expireAccessTokens();
    this.touch();
  }

  /**
   * What the user does on the next consent screen (one authorize request): sign in as another
   * account than login_hint names, grant fewer scopes than asked, or cancel.
   */
  nextConsent(choice: ConsentChoice | undefined): void {
    this.consent = choice;
  }

  // ---- "the user does this in Outlook" ------------------------------------------------------------

  createEvent(calendarId: string, input: EventInput): GraphEvent {
    return this.explain(`createEvent(${calendarId})`, () => {
      const cal = this.calendar(calendarId);
      return this.render(this.store.create(cal, input as unknown as Record<string, unknown>, { user: true }));
    });
  }

  /** Merges top-level fields (as a Graph PATCH), and may also set organizer, responseStatus, isCancelled. */
  updateEvent(eventId: string, patch: EventPatch): GraphEvent {
    return this.explain(`updateEvent(${eventId})`, () =>
      this.render(this.store.update(eventId, patch as Record<string, unknown>, { user: true })),
    );
  }

  /** As if the event had been made `ms` earlier (its createdDateTime and lastModifiedDateTime move back). */
  ageEvent(eventId: string, ms: number): void {
    this.explain(`ageEvent(${eventId})`, () => this.store.age(eventId, ms));
  }

  deleteEvent(eventId: string): void {
    this.explain(`deleteEvent(${eventId})`, () => this.store.remove(eventId, { user: true }));
    this.touch();
  }

  /** Outlook moves by copy: the event gets a new id in the destination, keeps its iCalUId, and is deleted at the source. */
  moveEvent(eventId: string, destinationCalendarId: string): GraphEvent {
    return this.explain(`moveEvent(${eventId}, ${destinationCalendarId})`, () =>
      this.render(this.store.move(eventId, this.calendar(destinationCalendarId))),
    );
  }

  /** An event, series master, exception or occurrence by id (UTC times); undefined when unknown or deleted. */
  getEvent(eventId: string): GraphEvent | undefined {
    const target = this.store.resolve(eventId);
    return target && this.render(target.rec, target.occurrence);
  }

  /** Stored events in creation order: singles, series masters and exceptions (occurrences are not stored). */
  listEvents(calendarId: string, opts: { includeDeleted?: boolean } = {}): GraphEvent[] {
    const cal = this.calendar(calendarId);
    const out: GraphEvent[] = [];
    for (const id of cal.order) {
      const rec = cal.events.get(id) as StoredEvent;
      if (opts.includeDeleted || this.store.isLive(cal, rec)) out.push(this.render(rec));
    }
    return out;
  }

  /** What calendarView answers for [start, end) (ISO instants): singles, occurrences and exceptions by start. */
  calendarView(calendarId: string, start: string, end: string): GraphEvent[] {
    return this.explain(`calendarView(${calendarId})`, () => {
      const cal = this.calendar(calendarId);
      const view = this.store.view(cal, parseBoundary(start, 'start'), parseBoundary(end, 'end'));
      return view.map((it) => this.render(it.rec, it.occurrence));
    });
  }

  /** Bulk insert without notifications (a calendar that had these events before anyone subscribed). */
  seedEvents(calendarId: string, events: EventInput[]): void {
    const cal = this.calendar(calendarId);
    events.forEach((ev, i) =>
      this.explain(`seedEvents(${calendarId})[${i}]`, () =>
        this.store.create(cal, ev as unknown as Record<string, unknown>, { user: true, silent: true }),
      ),
    );
    this.touch();
  }

  // ---- subscriptions -------------------------------------------------------------------------------

  subscriptions(): SubscriptionInfo[] {
    const now = Date.now();
    return [...this.subs.values()].map((s) => subscriptionInfo(s, now));
  }

  /** Ends a subscription now, as if its expirationDateTime had passed: no more notifications, 404 to the API. */
  expireSubscription(subscriptionId: string): void {
    const sub = this.subscription(subscriptionId);
    sub.expirationMs = Math.min(sub.expirationMs, Date.now());
    this.touch();
  }

  /**
   * POSTs a lifecycle notification to the subscription's lifecycleNotificationUrl and resolves with the
   * receiver's status. reauthorizationRequired flags it until POST /subscriptions/{id}/reauthorize;
   * subscriptionRemoved also deletes it; missed changes nothing.
   */
  async sendLifecycle(subscriptionId: string, event: LifecycleEvent): Promise<number> {
    const sub = this.subscription(subscriptionId);
    if (!['reauthorizationRequired', 'subscriptionRemoved', 'missed'].includes(event))
      throw new EmulatorError(400, `unknown lifecycle event ${String(event)}`);
    if (!sub.lifecycleNotificationUrl)
      throw new EmulatorError(400, `subscription ${subscriptionId} has no lifecycleNotificationUrl`);
    if (event === 'reauthorizationRequired') sub.needsReauthorization = true;
    if (event === 'subscriptionRemoved') this.subs.delete(sub.id);
    this.touch();
    return this.sender.sendLifecycle(sub, event);
  }

  // ---- logs ----------------------------------------------------------------------------------------

  get calls(): ReadonlyArray<CallRecord> {
    return this.callLog;
  }

  /** The most requests a mailbox had in flight at once (Graph throttles the fifth: `MAILBOX_CONCURRENCY`). */
  peakConcurrency(email: string): number {
    return this.api.peakInFlight.get(email) ?? 0;
  }

  /** Requests answered 429 for going over the per-mailbox concurrency limit. */
  get concurrencyThrottled(): number {
    return this.api.throttledByConcurrency;
  }

  callCount(operation?: string, calendarId?: string): number {
    let n = 0;
    for (const c of this.callLog) {
      if ((operation === undefined || c.operation === operation) && (calendarId === undefined || c.calendarId === calendarId))
        n++;
    }
    return n;
  }

  resetCalls(): void {
    this.callLog.length = 0;
  }

  /** Every POST the emulator made to a receiver (validation, notification, lifecycle), in completion order. */
  get notificationLog(): ReadonlyArray<NotificationLogEntry> {
    return [...this.validationLog, ...this.sender.log].sort((a, b) => a.at - b.at);
  }

  resetNotificationLog(): void {
    this.validationLog.length = 0;
    this.sender.log.length = 0;
  }

  // ---- state -------------------------------------------------------------------------------------

  /** The whole state as JSON-able data (accounts, tokens, calendars, events, subscriptions, counters). */
  snapshot(): EmulatorSnapshot {
    return takeSnapshot(this.tenant, this.store, this.auth, this.subs);
  }

  /** Replaces the whole state with a snapshot (logs, fault switches and notifications in flight are left alone). */
  restore(snapshot: EmulatorSnapshot): void {
    applySnapshot(snapshot, this.store, this.auth, this.subs);
    this.tenant = snapshot.tenantId;
    this.touch();
  }

  /** Saves the state file now (when the emulator has one) and waits for the write. */
  async saveState(): Promise<void> {
    this.saver?.markDirty();
    await this.saver?.flush();
    if (this.saver?.lastError) throw this.saver.lastError;
  }

  /**
   * Makes Exchange convert wall-clock times written in `windowsZone` with another zone's rules
   * (`rulesOf`, an IANA name; null restores CLDR's), as when its zone data lags a country's change
   * of offsets. Process-wide while set (zone names are resolved outside the instance); `reset` and
   * `stop` clear it.
   */
  exchangeZoneRules(windowsZone: string, rulesOf: string | null): void {
    if (rulesOf === null) exchangeZoneOverrides.delete(windowsZone.toLowerCase());
    else {
      if (!resolveTimeZone(rulesOf)) throw new EmulatorError(400, `invalid time zone ${rulesOf}`);
      exchangeZoneOverrides.set(windowsZone.toLowerCase(), rulesOf);
    }
  }

  /** Forgets everything: accounts, calendars, subscriptions, logs, fault switches. Old tokens become unknown. */
  reset(): void {
    this.consent = undefined;
    this.store.reset();
    this.auth.reset();
    this.subs.clear();
    this.sender.reset();
    this.faultState.wipe();
    exchangeZoneOverrides.clear();
    this.callLog.length = 0;
    this.validationLog.length = 0;
    this.touch();
  }

  // ---- internals -----------------------------------------------------------------------------------

  private stateFileContent(): StateFileContent {
    return { format: STATE_FORMAT, version: 1, savedAt: new Date().toISOString(), tls: this.tls, state: this.snapshot() };
  }

  private touch(): void {
    this.saver?.markDirty();
  }

  private calendar(calendarId: string): CalendarState {
    const cal = this.store.calendars.get(calendarId);
    if (!cal) throw new EmulatorError(404, `no calendar ${calendarId}`);
    return cal;
  }

  private defaultCalendarOf(email: string): CalendarState {
    const owner = this.auth.account(email)?.email;
    for (const cal of this.store.calendars.values()) if (cal.isDefault && cal.ownerEmail === owner) return cal;
    throw new EmulatorError(404, `no account ${email}`);
  }

  private subscription(id: string): Subscription {
    const sub = this.subs.get(id);
    if (!sub) throw new EmulatorError(404, `no subscription ${id}`);
    return sub;
  }

  private render(rec: StoredEvent, occurrence?: Parameters<typeof renderEvent>[1]): GraphEvent {
    const cal = this.store.calendars.get(rec.calendarId) as CalendarState;
    const owner = this.auth.account(cal.ownerEmail);
    return renderEvent(rec, occurrence, {
      ...UTC_CONTEXT,
      ownerEmail: cal.ownerEmail,
      ownerName: owner?.displayName ?? cal.ownerEmail,
    });
  }

  /** A change in a calendar: notifications to the subscriptions watching it, and a state save. */
  private notify(notice: ChangeNotice): void {
    this.touch();
    if (this.subs.size === 0) return;
    const cal = notice.calendar;
    const owner = this.auth.account(cal.ownerEmail);
    if (!owner) return;
    const now = Date.now();
    const watching = [...this.subs.values()].filter(
      (s) => isLive(s, now) && s.email === owner.email && (s.calendarIds === null || s.calendarIds.includes(cal.id)),
    );
    this.sender.notify(watching, {
      changeType: notice.changeType,
      eventId: notice.event.id,
      etag: etagOf(notice.event.changeKey),
      userId: owner.userId,
    });
  }

  /** Graph-style errors from the store become errors that say which call of the test went wrong. */
  private explain<T>(what: string, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      if (err instanceof GraphApiError) throw new EmulatorError(err.status, `${what}: ${err.status} ${err.code}: ${err.message}`);
      if (err instanceof EmulatorError) throw new EmulatorError(err.status, `${what}: ${err.message}`);
      if (err instanceof Error) throw new EmulatorError(400, `${what}: ${err.message}`);
      throw err;
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        resolve();
      }, ms);
      this.timers.add(t);
    });
  }

  private onRequest(req: http.IncomingMessage, res: http.ServerResponse, ctx: Parameters<typeof handleToken>[0]): void {
    const url = new URL(req.url ?? '/', 'https://emulator.invalid');
    const path = url.pathname;
    let work: Promise<void>;
    const oauth = oauthEndpoint(path);
    if (path.startsWith('/v1.0/')) work = this.api.handle(req, res, url);
    else if (oauth === 'token') work = handleToken(ctx, req, res, url);
    else if (oauth === 'authorize') work = Promise.resolve(handleAuthorize(ctx, req, res, url));
    else if (path === '/' || path === CONTROL_PREFIX || path.startsWith(`${CONTROL_PREFIX}/`))
      work = handleControl(this, req, res, url);
    else
      work = Promise.resolve(
        writeReply(res, errorReply(new GraphApiError(400, 'BadRequest', `Invalid version or path: ${path}`))),
      );
    work
      .catch((err: unknown) => {
        if (!res.headersSent) writeReply(res, errorReply(err));
        else res.destroy();
      })
      .finally(() => this.touch());
  }
}
