import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CalendarApi, errorReply } from './api-routes.js';
import { AuthState } from './auth.js';
import { CONTROL_PREFIX, handleControl } from './control-routes.js';
import { ApiError, EmulatorError } from './errors.js';
import { type CalendarState, EventStore } from './event-store.js';
import { FaultState, type GoogleFaults } from './faults.js';
import { busyIntervals } from './freebusy.js';
import { writeReply } from './http-util.js';
import { newEventId } from './ids.js';
import { handleAuthorize, handleToken } from './oauth-routes.js';
import { type Channel, PushSender } from './push-sender.js';
import { isValidTimeZone, parseInstant } from './time.js';
import type {
  BusyInterval,
  CallRecord,
  ChannelInfo,
  EmulatorOptions,
  EventInput,
  GoogleEvent,
  PushLogEntry,
  PushState,
} from './types.js';

const DEFAULT_MAX_CHANNEL_TTL_SECONDS = 604_800;
const DEFAULT_ACCESS_TOKEN_TTL_SECONDS = 3600;

/**
 * A Google Calendar v3 + OAuth server on loopback that the real googleapis / google-auth-library clients
 * talk to unchanged (rootUrl and oauth2TokenUrl pointed at it). State lives in memory; tests drive "the user
 * edits in Google" through the methods below, and can make the server misbehave through `faults`.
 */
export class GoogleCalendarEmulator {
  readonly faults: GoogleFaults;
  private readonly faultState: FaultState;
  private readonly store: EventStore;
  private readonly auth: AuthState;
  private readonly push: PushSender;
  private readonly api: CalendarApi;
  private readonly callLog: CallRecord[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly server: http.Server;
  private baseUrl = '';
  private stopping: Promise<void> | undefined;

  private constructor(private readonly options: Required<Omit<EmulatorOptions, 'port'>> & { port: number }) {
    this.faultState = new FaultState({
      invalidateSyncTokens: (calendarId) => {
        this.calendar(calendarId).generation++;
      },
      releasePushes: (reverse) => this.push.release(reverse),
    });
    this.faults = this.faultState;
    this.push = new PushSender(this.faultState);
    this.store = new EventStore((cal) => this.push.notify(cal.id));
    this.auth = new AuthState(options.accessTokenTtlSeconds);
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the URL is only known after listen()
    const self = this;
    const ctx = {
      store: this.store,
      auth: this.auth,
      push: this.push,
      faults: this.faultState,
      maxChannelTtlSeconds: options.maxChannelTtlSeconds,
      get url() {
        return self.baseUrl;
      },
      recordCall: (call: CallRecord) => this.callLog.push(call),
      sleep: (ms: number) => this.sleep(ms),
      createAccount: (email: string) => void this.addAccount({ email }),
    };
    this.api = new CalendarApi(ctx);
    this.server = http.createServer({ keepAliveTimeout: 5000 }, (req, res) => this.onRequest(req, res, ctx));
  }

  static async start(options: EmulatorOptions = {}): Promise<GoogleCalendarEmulator> {
    const emu = new GoogleCalendarEmulator({
      port: options.port ?? 0,
      host: options.host ?? '127.0.0.1',
      maxChannelTtlSeconds: options.maxChannelTtlSeconds ?? DEFAULT_MAX_CHANNEL_TTL_SECONDS,
      accessTokenTtlSeconds: options.accessTokenTtlSeconds ?? DEFAULT_ACCESS_TOKEN_TTL_SECONDS,
    });
    await new Promise<void>((resolve, reject) => {
      emu.server.once('error', reject);
      emu.server.listen(emu.options.port, emu.options.host, () => {
        emu.server.off('error', reject);
        resolve();
      });
    });
    const { port } = emu.server.address() as AddressInfo;
    const host = emu.options.host.includes(':') ? `[${emu.options.host}]` : emu.options.host;
    emu.baseUrl = `http://${host}:${port}/`;
    return emu;
  }

  /** What to pass as googleapis' rootUrl. */
  get url(): string {
    return this.baseUrl;
  }

  get tokenUrl(): string {
    return `${this.baseUrl}token`;
  }

  get authorizeUrl(): string {
    return `${this.baseUrl}o/oauth2/v2/auth`;
  }

  stop(): Promise<void> {
    this.stopping ??= new Promise<void>((resolve) => {
      this.push.stop();
      for (const t of this.timers) clearTimeout(t);
      this.timers.clear();
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    return this.stopping;
  }

  // ---- accounts ----------------------------------------------------------------------------------

  /** Adds an account with its primary calendar (id = email); adding a known email just adds the tokens. */
  addAccount(input: { email: string; refreshToken?: string; accessToken?: string; timeZone?: string }): {
    email: string;
    refreshToken: string;
    accessToken: string;
  } {
    if (!input || typeof input.email !== 'string' || !input.email) throw new EmulatorError(400, 'addAccount needs an email');
    const timeZone = input.timeZone ?? 'UTC';
    if (!isValidTimeZone(timeZone)) throw new EmulatorError(400, `invalid time zone ${timeZone}`);
    const { created, refreshToken, accessToken } = this.auth.ensureAccount({ ...input, timeZone });
    if (created) {
      this.store.addCalendar({ id: input.email, ownerEmail: input.email, summary: input.email, timeZone, primary: true });
    }
    return { email: input.email, refreshToken, accessToken };
  }

  /**
   * Adds a secondary calendar. With `primary: true` it updates the account's primary calendar instead (there
   * is exactly one, created by addAccount, and its id is the email).
   */
  addCalendar(email: string, input: { id?: string; summary: string; timeZone?: string; primary?: boolean }): { id: string } {
    const account = this.auth.accounts.get(email);
    if (!account) throw new EmulatorError(404, `no account ${email}`);
    const timeZone = input.timeZone ?? account.timeZone;
    if (!isValidTimeZone(timeZone)) throw new EmulatorError(400, `invalid time zone ${timeZone}`);
    if (input.primary) {
      if (input.id !== undefined && input.id !== email)
        throw new EmulatorError(400, 'the primary calendar id is the account email');
      const cal = this.calendar(email);
      cal.summary = input.summary;
      cal.timeZone = timeZone;
      return { id: email };
    }
    const id = input.id ?? `c_${newEventId(40)}@group.calendar.google.com`;
    if (this.store.calendars.has(id)) throw new EmulatorError(409, `calendar ${id} already exists`);
    this.store.addCalendar({ id, ownerEmail: email, summary: input.summary, timeZone, primary: false });
    return { id };
  }

  revokeRefreshToken(refreshToken: string): void {
    this.auth.revokeRefreshToken(refreshToken);
  }

  expireAccessTokens(): void {
    this.auth.expireAccessTokens();
  }

  // ---- "the user does this in Google" -------------------------------------------------------------

  createEvent(calendarId: string, event: EventInput): GoogleEvent {
    return this.explain(`createEvent(${calendarId})`, () => clone(this.store.insert(this.calendar(calendarId), event).ev));
  }

  updateEvent(calendarId: string, eventId: string, patch: Partial<GoogleEvent>): GoogleEvent {
    return this.explain(`updateEvent(${calendarId}, ${eventId})`, () =>
      clone(this.store.update(this.calendar(calendarId), eventId, patch as Record<string, unknown>)),
    );
  }

  deleteEvent(calendarId: string, eventId: string): void {
    this.explain(`deleteEvent(${calendarId}, ${eventId})`, () => this.store.remove(this.calendar(calendarId), eventId));
  }

  moveEvent(calendarId: string, eventId: string, destinationCalendarId: string): GoogleEvent {
    return this.explain(`moveEvent(${calendarId}, ${eventId}, ${destinationCalendarId})`, () =>
      clone(this.store.move(this.calendar(calendarId), eventId, this.calendar(destinationCalendarId))),
    );
  }

  getEvent(calendarId: string, eventId: string): GoogleEvent | undefined {
    const ev = this.store.find(this.calendar(calendarId), eventId);
    return ev && clone(ev);
  }

  /** Stored events in creation order: singles, series masters and modified instances (no expansion). */
  listEvents(calendarId: string, opts: { includeDeleted?: boolean } = {}): GoogleEvent[] {
    const out: GoogleEvent[] = [];
    for (const rec of this.calendar(calendarId).order) {
      if (opts.includeDeleted || rec.ev.status !== 'cancelled') out.push(clone(rec.ev));
    }
    return out;
  }

  /** Bulk insert without pushes (a calendar that already had these events before anyone watched it). */
  seedEvents(calendarId: string, events: EventInput[]): void {
    const cal = this.calendar(calendarId);
    events.forEach((ev, i) =>
      this.explain(`seedEvents(${calendarId})[${i}]`, () => this.store.insert(cal, ev, { silent: true })),
    );
  }

  freeBusy(calendarId: string, timeMin: string, timeMax: string): BusyInterval[] {
    return this.explain(`freeBusy(${calendarId})`, () =>
      busyIntervals(this.store, this.calendar(calendarId), parseInstant(timeMin, 'timeMin'), parseInstant(timeMax, 'timeMax')),
    );
  }

  // ---- channels and pushes -------------------------------------------------------------------------

  channels(): ChannelInfo[] {
    return [...this.push.channels.values()].map(channelInfo);
  }

  liveChannels(calendarId?: string): ChannelInfo[] {
    return this.push.liveChannels(calendarId).map(channelInfo);
  }

  expireChannel(channelId: string): void {
    const ch = this.channel(channelId);
    ch.expiration = Math.min(ch.expiration, Date.now());
  }

  /** One push now, bypassing faults and retries; works on stopped/expired channels too (a late push). */
  sendPush(
    channelId: string,
    state: PushState = 'exists',
    overrides?: { token?: string; headers?: Record<string, string> },
  ): Promise<number> {
    return this.push.sendNow(this.channel(channelId), state, overrides);
  }

  // ---- logs ----------------------------------------------------------------------------------------

  get calls(): ReadonlyArray<CallRecord> {
    return this.callLog;
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

  get pushLog(): ReadonlyArray<PushLogEntry> {
    return this.push.log;
  }

  reset(): void {
    this.store.reset();
    this.auth.reset();
    this.push.reset();
    this.faultState.wipe();
    this.callLog.length = 0;
  }

  // ---- internals -----------------------------------------------------------------------------------

  private calendar(calendarId: string): CalendarState {
    const cal = this.store.calendars.get(calendarId);
    if (!cal) throw new EmulatorError(404, `no calendar ${calendarId}`);
    return cal;
  }

  private channel(channelId: string): Channel {
    const ch = this.push.channels.get(channelId);
    if (!ch) throw new EmulatorError(404, `no channel ${channelId}`);
    return ch;
  }

  /** Google-style errors from the store become errors that say which call of the test went wrong. */
  private explain<T>(what: string, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      if (err instanceof ApiError) throw new EmulatorError(err.status, `${what}: ${err.status} ${err.reason}: ${err.message}`);
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
    const url = new URL(req.url ?? '/', 'http://emulator.invalid');
    const path = url.pathname;
    let work: Promise<void>;
    if (path.startsWith('/calendar/v3/')) work = this.api.handle(req, res, url);
    else if (path === '/token') work = handleToken(ctx, req, res, url);
    else if (path === '/o/oauth2/v2/auth' || path === '/o/oauth2/auth') work = Promise.resolve(handleAuthorize(ctx, res, url));
    else if (path === CONTROL_PREFIX || path.startsWith(`${CONTROL_PREFIX}/`)) work = handleControl(this, req, res, url);
    else work = Promise.resolve(writeReply(res, errorReply(new ApiError(404, 'notFound', `Not Found: ${path}`))));
    work.catch((err: unknown) => {
      if (!res.headersSent) writeReply(res, errorReply(err));
      else res.destroy();
    });
  }
}

function channelInfo(ch: Channel): ChannelInfo {
  const info: ChannelInfo = {
    id: ch.id,
    resourceId: ch.resourceId,
    calendarId: ch.calendarId,
    address: ch.address,
    expiration: ch.expiration,
    stopped: ch.stopped,
    messageNumber: ch.messageNumber,
  };
  if (ch.token !== undefined) info.token = ch.token;
  return info;
}

/** Callers get copies, so a test mutating what it got back cannot reach into stored state (inputs are copied by the store). */
function clone<T>(value: T): T {
  return structuredClone(value);
}
