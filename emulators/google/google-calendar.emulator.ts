import { mkdir, open, readFile, rename } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import { CalendarApi, errorReply } from './api-routes.js';
import { AuthState } from './auth.js';
import { CONTROL_PREFIX, controlIndex, handleControl } from './control-routes.js';
import { ApiError, EmulatorError } from './errors.js';
import { type CalendarState, EventStore } from './event-store.js';
import { FaultState, type GoogleFaults } from './faults.js';
import { busyIntervals } from './freebusy.js';
import { writeReply } from './http-util.js';
import { newEventId } from './ids.js';
import { type ConsentChoice, handleAuthorize, handleToken } from './oauth-routes.js';
import { type Channel, PushSender } from './push-sender.js';
import {
  type EmulatorSnapshot,
  SNAPSHOT_KIND,
  SNAPSHOT_VERSION,
  checkSnapshot,
  restoreCalendar,
  snapshotCalendar,
} from './snapshot.js';
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
const DEFAULT_SAVE_DELAY_MS = 200;

type ResolvedOptions = Required<Omit<EmulatorOptions, 'port' | 'stateFile'>> & { port: number; stateFile?: string };

export interface CalendarInfo {
  id: string;
  ownerEmail: string;
  summary: string;
  timeZone: string;
  primary: boolean;
}

/**
 * A Google Calendar v3 + OAuth server on loopback that the real googleapis / google-auth-library clients
 * talk to unchanged (rootUrl and oauth2TokenUrl pointed at it). State lives in memory; tests drive "the user
 * edits in Google" through the methods below, and can make the server misbehave through `faults`.
 * `snapshot()`/`restore()` copy the whole state out and back; with the `stateFile` option it is loaded at
 * start and saved there (debounced, write-then-rename) after changes and on stop.
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
  /** Set once stop() began: nothing schedules a save any more (stop writes the last one itself). */
  private closed = false;
  private dirty = false;
  private saveTimer: NodeJS.Timeout | undefined;
  private saving: Promise<void> = Promise.resolve();
  private consent: ConsentChoice | undefined;

  private constructor(private readonly options: ResolvedOptions) {
    this.faultState = new FaultState({
      invalidateSyncTokens: (calendarId) => {
        this.calendar(calendarId).generation++;
        this.markChanged();
      },
      releasePushes: (reverse) => this.push.release(reverse),
    });
    this.faults = this.faultState;
    this.push = new PushSender(this.faultState);
    this.store = new EventStore((cal) => {
      this.push.notify(cal.id);
      this.markChanged();
    });
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
      takeConsent: () => {
        const choice = this.consent;
        this.consent = undefined;
        return choice;
      },
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
      stateFile: options.stateFile,
      saveDelayMs: options.saveDelayMs ?? DEFAULT_SAVE_DELAY_MS,
    });
    // Read before listening and applied right after, in the same tick: no request sees an empty emulator.
    const saved = options.stateFile ? await readStateFile(options.stateFile) : undefined;
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
    if (saved) {
      try {
        emu.restoreState(saved);
      } catch (err) {
        await emu.stop(false);
        throw new Error(
          `cannot restore the Google emulator from ${options.stateFile}: ${err instanceof Error ? err.message : String(err)} ` +
            '(move the file away to start with an empty emulator)',
          { cause: err },
        );
      }
      emu.dirty = false;
    }
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

  /** Where the state is kept between runs, when the emulator was started with one. */
  get stateFile(): string | undefined {
    return this.options.stateFile;
  }

  /** Closes the server; with a `stateFile`, resolves once the final state is written there. */
  stop(save = true): Promise<void> {
    this.stopping ??= (async () => {
      this.closed = true;
      clearTimeout(this.saveTimer);
      this.saveTimer = undefined;
      this.push.stop();
      for (const t of this.timers) clearTimeout(t);
      this.timers.clear();
      await new Promise<void>((resolve) => {
        this.server.close(() => resolve());
        this.server.closeAllConnections();
      });
      if (save && this.options.stateFile) {
        this.dirty = true;
        await this.saveState();
      }
    })();
    return this.stopping;
  }

  // ---- persistence ---------------------------------------------------------------------------------

  /**
   * The whole state as plain JSON (a copy): accounts and grants, calendars, events with their tombstones and
   * change logs, sync-token epoch and generations, etag counter, channels with their message numbers.
   * Fault switches, held pushes, logs and expired tokens are left out (see snapshot.ts).
   */
  snapshot(): EmulatorSnapshot {
    return structuredClone(this.snapshotState());
  }

  /**
   * Replaces the whole state with a snapshot's (taken from this emulator or another, even on another port):
   * sync and page tokens issued before the snapshot keep working, channels keep pushing with their next
   * message number. Faults, held pushes and logs are cleared, as reset() does.
   */
  restore(snapshot: EmulatorSnapshot): void {
    this.restoreState(structuredClone(snapshot));
  }

  /** Writes the state file now (no-op without one); resolves when it is on disk. */
  saveState(): Promise<void> {
    if (!this.options.stateFile) return Promise.resolve();
    clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    const run = this.saving.then(() => this.writeStateFile(this.options.stateFile as string));
    this.saving = run.catch(() => undefined);
    return run;
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
    this.markChanged();
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
      this.markChanged();
      return { id: email };
    }
    const id = input.id ?? `c_${newEventId(40)}@group.calendar.google.com`;
    if (this.store.calendars.has(id)) throw new EmulatorError(409, `calendar ${id} already exists`);
    this.store.addCalendar({ id, ownerEmail: email, summary: input.summary, timeZone, primary: false });
    this.markChanged();
    return { id };
  }

  /** Every calendar (of every account) in creation order. */
  listCalendars(): CalendarInfo[] {
    return [...this.store.calendars.values()].map((c) => ({
      id: c.id,
      ownerEmail: c.ownerEmail,
      summary: c.summary,
      timeZone: c.timeZone,
      primary: c.primary,
    }));
  }

  revokeRefreshToken(refreshToken: string): void {
    this.auth.revokeRefreshToken(refreshToken);
    this.markChanged();
  }

  expireAccessTokens(): void {
    this.auth.expireAccessTokens();
    this.markChanged();
  }

  /**
   * What the user does on the next consent screen (one authorize request): sign in as another
   * account than login_hint names, untick scopes (`grantScopes`: what stays ticked), or cancel.
   */
  nextConsent(choice: ConsentChoice | undefined): void {
    this.consent = choice;
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
    try {
      events.forEach((ev, i) =>
        this.explain(`seedEvents(${calendarId})[${i}]`, () => this.store.insert(cal, ev, { silent: true })),
      );
    } finally {
      this.markChanged();
    }
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
    this.markChanged();
  }

  /** One push now, bypassing faults and retries; works on stopped/expired channels too (a late push). */
  sendPush(
    channelId: string,
    state: PushState = 'exists',
    overrides?: { token?: string; headers?: Record<string, string> },
  ): Promise<number> {
    const sent = this.push.sendNow(this.channel(channelId), state, overrides);
    this.markChanged(); // the channel's message number moved on
    return sent;
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
    this.consent = undefined;
    this.store.reset();
    this.auth.reset();
    this.push.reset();
    this.faultState.wipe();
    this.callLog.length = 0;
    this.markChanged();
  }

  // ---- internals -----------------------------------------------------------------------------------

  private snapshotState(): EmulatorSnapshot {
    return {
      kind: SNAPSHOT_KIND,
      version: SNAPSHOT_VERSION,
      savedAt: new Date().toISOString(),
      url: this.baseUrl,
      store: {
        epoch: this.store.epoch,
        etagCounter: this.store.etagCounter,
        calendars: [...this.store.calendars.values()].map(snapshotCalendar),
      },
      auth: this.auth.snapshot(),
      channels: this.push.snapshotChannels(),
    };
  }

  /** Takes ownership of `s` (callers pass a copy or freshly parsed JSON). Builds everything before replacing anything. */
  private restoreState(s: EmulatorSnapshot): void {
    checkSnapshot(s);
    const calendars = s.store.calendars.map(restoreCalendar);
    const oldUrl = s.url;
    const rebase = (uri: string) =>
      oldUrl && this.baseUrl && uri.startsWith(oldUrl) ? this.baseUrl + uri.slice(oldUrl.length) : uri;
    this.faultState.wipe();
    this.store.replaceState(calendars, s.store.epoch, s.store.etagCounter);
    this.auth.restore(s.auth);
    this.push.restoreChannels(s.channels, rebase);
    this.callLog.length = 0;
    this.markChanged();
  }

  /** Something in the state changed: save it soon (at most one write per saveDelayMs), when there is a stateFile. */
  private markChanged(): void {
    if (!this.options.stateFile || this.closed) return;
    this.dirty = true;
    if (this.saveTimer) return;
    this.saveTimer = setTimeout(() => {
      this.saveTimer = undefined;
      this.saveState().catch((err: unknown) =>
        process.emitWarning(
          `Google emulator: could not save ${this.options.stateFile}: ${err instanceof Error ? err.message : String(err)}`,
        ),
      );
    }, this.options.saveDelayMs);
    this.saveTimer.unref();
  }

  /** Whole file to a temporary name, flushed, then renamed over the old one: a crash leaves the old or the new, never half. */
  private async writeStateFile(file: string): Promise<void> {
    if (!this.dirty) return;
    this.dirty = false;
    try {
      const text = JSON.stringify(this.snapshotState());
      await mkdir(dirname(file), { recursive: true });
      const tmp = `${file}.${process.pid}.tmp`;
      const handle = await open(tmp, 'w', 0o600);
      try {
        await handle.writeFile(text);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(tmp, file);
    } catch (err) {
      this.dirty = true;
      throw err;
    }
  }

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
    if (path === '/' && req.method === 'GET') work = Promise.resolve(writeReply(res, controlIndex(this)));
    else if (path.startsWith('/calendar/v3/')) work = this.api.handle(req, res, url);
    else if (path === '/token') work = handleToken(ctx, req, res, url);
    else if (path === '/o/oauth2/v2/auth' || path === '/o/oauth2/auth') work = Promise.resolve(handleAuthorize(ctx, res, url));
    else if (path === CONTROL_PREFIX || path.startsWith(`${CONTROL_PREFIX}/`)) work = handleControl(this, req, res, url);
    else work = Promise.resolve(writeReply(res, errorReply(new ApiError(404, 'notFound', `Not Found: ${path}`))));
    // Reads change nothing worth saving; the consent screen is a GET that mints a code (and maybe an account).
    const mutating = req.method !== 'GET' || path.startsWith('/o/oauth2/');
    work
      .catch((err: unknown) => {
        if (!res.headersSent) writeReply(res, errorReply(err));
        else res.destroy();
      })
      .finally(() => {
        if (mutating) this.markChanged();
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

/** The saved state, or undefined when there is none yet; anything unreadable stops the start with the file's name. */
async function readStateFile(file: string): Promise<EmulatorSnapshot | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read the Google emulator state file ${file}: ${(err as Error).message}`, { cause: err });
  }
  try {
    return JSON.parse(text) as EmulatorSnapshot;
  } catch (err) {
    throw new Error(
      `the Google emulator state file ${file} is not valid JSON (${(err as Error).message}); move it away to start with an empty emulator`,
      { cause: err },
    );
  }
}
