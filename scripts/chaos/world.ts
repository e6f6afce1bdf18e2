import type pg from 'pg';
import { googleEventIdFor } from '../../src/modules/providers/google/google-event.mapper.js';
import type { GoogleEvent } from '../../emulators/google/types.js';
import type { GraphEvent } from '../../emulators/microsoft/types.js';
import { type Emulators, type ServiceInstance, sleep } from './env.js';
import { Prng } from './prng.js';
import {
  type FaultSpec,
  type Guest,
  type InitialBooking,
  type OpKind,
  type OperationKind,
  type ProviderKind,
  type Schedule,
  type ScheduledOp,
  type Slot,
  slotTimes,
} from './schedule.js';

export const SYNC_FLAG = 'calendar-subscription-sync';

export interface Host {
  index: number;
  provider: ProviderKind;
  userId: number;
  email: string;
  credentialId: number;
  calendarId: string;
}

export interface BookingRecord {
  index: number;
  host: number;
  id?: number;
  uid?: string;
  /** The create answered with a connection error: the booking may or may not exist. */
  createIndeterminate?: boolean;
  description: string;
}

/** What an op is about, for the expectation rules: a field group and the value it set. */
export type Value =
  | { group: 'times'; startTime: string; endTime: string }
  | { group: 'title'; title: string }
  | { group: 'attendees'; emails: string[] }
  | { group: 'status'; status: 'cancelled' }
  | { group: 'recurrence' };

export type Outcome = 'ok' | 'refused' | 'indeterminate' | 'skipped';

export interface OpRecord {
  seq: number;
  kind: OpKind | 'restart' | 'fault-end' | 'setup-create';
  booking?: number;
  /** When it was due and when it started and ended, in ms since the chaos phase began; end = Infinity when unknown. */
  due: number;
  start: number;
  end: number;
  outcome: Outcome;
  values?: Value[];
  status?: number;
  instance?: string;
  detail?: string;
  /** API changes: the history entry the answer showed for this change (`at`), if it made one. */
  historyAt?: string;
}

export interface ApiAnswer<T = unknown> {
  status: number;
  body: T;
}

export interface BookingView {
  id: number;
  uid: string;
  userId: number;
  title: string;
  description: string | null;
  location: string | null;
  startTime: string;
  endTime: string;
  status: string;
  cancellationReason: string | null;
  attendees: Array<{ email: string; name: string | null }>;
  references: Array<{ provider: string; externalCalendarId: string; externalEventId: string; iCalUID: string | null }>;
  history: Array<{ at: string; action: string; source: string; changes: Record<string, unknown> }>;
}

/** A booking's event as the calendar holds it, provider-neutral. */
export interface CalendarEvent {
  id: string;
  startTime: string;
  endTime: string;
  title: string;
  guests: string[];
  recurring: boolean;
  raw: GoogleEvent | GraphEvent;
}

export interface WorldOptions {
  dbUrl: string;
  apiKey: string;
  adminKey: string;
  seed: number;
  baseDayMs: number;
  log: (line: string) => void;
  verbose: boolean;
}

/**
 * The run's world: the hosts and bookings, the op log, and the code that carries out each scheduled
 * op: host edits straight in the emulators (as the user would in Google Calendar or Outlook), API calls
 * through whichever instance is up, faults through the emulators' switches, kill -9 of an instance and
 * its restart.
 */
export class World {
  readonly hosts: Host[] = [];
  readonly bookings: BookingRecord[] = [];
  readonly ops: OpRecord[] = [];
  readonly kills: Array<{ at: number; instance: string; pid?: number }> = [];
  readonly faults: Array<{ at: number; provider: ProviderKind; fault: FaultSpec }> = [];
  readonly errors: string[] = [];
  t0 = performance.now();
  /** Date.now() at t0, to print op times next to the database's timestamps. */
  t0Wall = Date.now();
  private seq = 0;
  private readonly routing: Prng;
  private readonly runtime: Prng;
  private readonly pending = new Set<Promise<unknown>>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private restarting = new Set<string>();
  stopped = false;

  constructor(
    readonly instances: ServiceInstance[],
    readonly emulators: Emulators,
    readonly db: pg.Pool,
    readonly options: WorldOptions,
  ) {
    this.routing = Prng.stream(options.seed, 'routing');
    this.runtime = Prng.stream(options.seed, 'runtime');
  }

  now(): number {
    return Math.round(performance.now() - this.t0);
  }

  get dbUrl(): string {
    return this.options.dbUrl;
  }

  /** An op time (ms since t0) as wall-clock ISO. */
  wall(ms: number): string {
    return Number.isFinite(ms) ? new Date(this.t0Wall + ms).toISOString() : ms > 0 ? '∞' : 'set-up';
  }

  // ---- HTTP ---------------------------------------------------------------------------------------

  /** An instance that is up, chosen at random; undefined when none is. */
  pickInstance(): ServiceInstance | undefined {
    const up = this.instances.filter((i) => i.state === 'up');
    return up.length ? this.routing.pick(up) : undefined;
  }

  async request<T>(
    instance: ServiceInstance,
    method: string,
    path: string,
    body?: unknown,
    options: { admin?: boolean; timeoutMs?: number } = {},
  ): Promise<ApiAnswer<T>> {
    const res = await fetch(`${instance.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${options.admin ? this.options.adminKey : this.options.apiKey}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(options.timeoutMs ?? 20_000),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON
    }
    return { status: res.status, body: parsed as T };
  }

  /** For set-up and quiescence: through any instance that is up, retried until one answers. */
  async call<T>(method: string, path: string, body?: unknown, options: { admin?: boolean; expect?: number[] } = {}): Promise<T> {
    const deadline = performance.now() + 60_000;
    let last = '';
    while (performance.now() < deadline) {
      const instance = this.pickInstance();
      if (!instance) {
        await sleep(100);
        continue;
      }
      try {
        const res = await this.request<T>(instance, method, path, body, { admin: options.admin, timeoutMs: 60_000 });
        if ((options.expect ?? [200, 201, 204]).includes(res.status)) return res.body;
        last = `${method} ${path}: HTTP ${res.status} ${JSON.stringify(res.body)}`;
        if (res.status < 500) throw new Error(last);
      } catch (error) {
        if (error instanceof Error && error.message === last) throw error;
        last = `${method} ${path}: ${error instanceof Error ? error.message : String(error)}`;
      }
      await sleep(200);
    }
    throw new Error(`no instance answered: ${last}`);
  }

  // ---- set-up -------------------------------------------------------------------------------------

  async addHosts(schedule: Schedule): Promise<void> {
    const { google, microsoft } = this.emulators;
    for (const h of schedule.hosts) {
      const email = `chaos-${this.options.seed}-${h.provider}-${h.index}@chaos.example.com`;
      const account = h.provider === 'google' ? google.addAccount({ email }) : microsoft.addAccount({ email });
      const user = await this.call<{ id: number }>('POST', '/api/v1/users', {
        email,
        name: `Chaos host ${h.index}`,
        timeZone: h.index % 2 ? 'Europe/Berlin' : 'UTC',
      });
      const credential = await this.call<{ id: number }>('POST', `/api/v1/users/${user.id}/credentials`, {
        provider: h.provider === 'google' ? 'google_calendar' : 'office365_calendar',
        accessToken: account.accessToken,
        refreshToken: account.refreshToken,
        expiresAt: new Date(Date.now() + 3600_000).toISOString(),
      });
      let calendarId = email;
      if (h.provider === 'outlook') {
        const calendars = await this.call<Array<{ id: string; primary: boolean }>>(
          'GET',
          `/api/v1/users/${user.id}/credentials/${credential.id}/calendars`,
        );
        const primary = calendars.find((c) => c.primary)?.id;
        if (!primary) throw new Error(`Outlook host ${email} has no default calendar`);
        calendarId = primary;
      }
      await this.call('PUT', `/api/v1/users/${user.id}/destination-calendar`, {
        credentialId: credential.id,
        externalId: calendarId,
      });
      await this.call('PUT', `/api/v1/admin/features/${SYNC_FLAG}/users/${user.id}`, { enabled: true }, { admin: true });
      this.hosts.push({ index: h.index, provider: h.provider, userId: user.id, email, credentialId: credential.id, calendarId });
    }
  }

  /** The initial bookings, through the API, before any chaos. */
  async addInitialBookings(initial: InitialBooking[]): Promise<void> {
    for (const b of initial) {
      const record: BookingRecord = { index: b.index, host: b.host, description: this.descriptionOf(b.index) };
      this.bookings[b.index] = record;
      const view = await this.call<BookingView>(
        'POST',
        '/api/v1/bookings',
        this.createBody(b.host, b.slot, b.title, b.guests, b.index),
      );
      record.id = view.id;
      record.uid = view.uid;
      const times = slotTimes(this.options.baseDayMs, b.slot);
      this.ops.push({
        seq: ++this.seq,
        kind: 'setup-create',
        booking: b.index,
        due: -1,
        start: -Infinity,
        end: -Infinity,
        outcome: 'ok',
        status: 201,
        values: [
          { group: 'times', ...times },
          { group: 'title', title: b.title },
          { group: 'attendees', emails: b.guests.map((g) => g.email) },
        ],
        historyAt: view.history[0]?.at,
      });
    }
  }

  private descriptionOf(index: number): string {
    return `chaos seed ${this.options.seed} booking ${index}`;
  }

  private createBody(host: number, slot: Slot, title: string, guests: Guest[], index: number) {
    return {
      userId: this.hosts[host].userId,
      title,
      description: this.descriptionOf(index),
      ...slotTimes(this.options.baseDayMs, slot),
      attendees: guests.map((g) => ({ email: g.email, name: g.name })),
    };
  }

  // ---- running the schedule -----------------------------------------------------------------------

  /** Runs every op at its time (relative to now), then waits for the stragglers (API calls, restarts). */
  async run(ops: ScheduledOp[]): Promise<void> {
    this.t0 = performance.now();
    this.t0Wall = Date.now();
    for (const op of ops) {
      const wait = op.at - (performance.now() - this.t0);
      if (wait > 0) await sleep(wait);
      this.track(this.execute(op));
    }
    await this.settle();
  }

  /** Waits for every op, fault window and restart still under way. */
  async settle(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    // Fault windows and restarts still pending run their ending now.
    const endings = [...this.endings.values()];
    this.endings.clear();
    for (const end of endings) this.track(end());
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  private readonly endings = new Map<NodeJS.Timeout, () => Promise<unknown>>();

  /** Runs `fn` after `ms`, or at `settle()` if that comes first. */
  private later(ms: number, fn: () => Promise<unknown>): void {
    if (this.stopped) {
      this.track(fn());
      return;
    }
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.endings.delete(timer);
      this.track(fn());
    }, ms);
    this.timers.add(timer);
    this.endings.set(timer, fn);
  }

  private track(p: Promise<unknown>): void {
    const wrapped = p.catch((error: unknown) => {
      this.errors.push(error instanceof Error ? (error.stack ?? error.message) : String(error));
    });
    this.pending.add(wrapped);
    void wrapped.finally(() => this.pending.delete(wrapped));
  }

  record(op: Omit<OpRecord, 'seq'>): OpRecord {
    const full = { seq: ++this.seq, ...op };
    this.ops.push(full);
    if (this.options.verbose) {
      this.options.log(
        `  ${(full.start / 1000).toFixed(2).padStart(7)}s #${full.seq} ${full.kind}${full.booking !== undefined ? ` b${full.booking}` : ''} ${full.outcome}${full.status ? ` ${full.status}` : ''}${full.detail ? ` (${full.detail})` : ''}`,
      );
    }
    return full;
  }

  private async execute(op: ScheduledOp): Promise<void> {
    switch (op.kind) {
      case 'host-move':
      case 'host-rename':
      case 'host-guests':
      case 'host-delete':
      case 'host-recurring':
        return this.hostEdit(op);
      case 'api-reschedule':
      case 'api-cancel':
        return this.apiChange(op);
      case 'api-create':
        return this.apiCreate(op);
      case 'fault':
        return this.fault(op);
      case 'kill':
        return this.kill(op);
    }
  }

  // ---- host edits ---------------------------------------------------------------------------------

  /** The booking's event(s) in its host's calendar: live, not an occurrence or exception of a series. */
  eventsOf(booking: BookingRecord): CalendarEvent[] {
    if (!booking.uid) return [];
    const host = this.hosts[booking.host];
    if (host.provider === 'google') {
      return this.emulators.google
        .listEvents(host.calendarId)
        .filter((e) => e.id === googleEventIdFor(booking.uid as string) && !e.recurringEventId)
        .map((e) => googleEvent(e, host.email));
    }
    return this.emulators.microsoft
      .listEvents(host.calendarId)
      .filter((e) => e.transactionId === booking.uid && e.type !== 'exception' && e.type !== 'occurrence')
      .map((e) => graphEvent(e, host.email));
  }

  /** The booking, with its id found lazily when its create's answer was lost. */
  private async resolveBooking(index: number): Promise<BookingRecord | undefined> {
    const booking = this.bookings[index];
    if (!booking) return undefined;
    if (booking.id === undefined && booking.createIndeterminate) {
      const rows = await this.db.query<{ id: number; uid: string }>(
        `SELECT "id", "uid" FROM "Booking" WHERE "description" = $1`,
        [booking.description],
      );
      if (rows.rows[0]) {
        booking.id = rows.rows[0].id;
        booking.uid = rows.rows[0].uid;
      }
    }
    return booking.id === undefined ? undefined : booking;
  }

  private async hostEdit(op: Extract<ScheduledOp, { kind: `host-${string}` }>): Promise<void> {
    const due = op.at;
    const booking = await this.resolveBooking(op.booking);
    const start = this.now();
    if (!booking) {
      this.record({
        kind: op.kind,
        booking: op.booking,
        due,
        start,
        end: start,
        outcome: 'skipped',
        detail: 'booking not created',
      });
      return;
    }
    const events = this.eventsOf(booking);
    if (events.length === 0) {
      this.record({
        kind: op.kind,
        booking: op.booking,
        due,
        start,
        end: start,
        outcome: 'skipped',
        detail: 'no event in the calendar',
      });
      return;
    }
    const event = events[0];
    const host = this.hosts[booking.host];
    const { google, microsoft } = this.emulators;
    let values: Value[] = [];
    let detail = `event ${event.id.slice(0, 24)}`;
    try {
      switch (op.kind) {
        case 'host-move': {
          const times = slotTimes(this.options.baseDayMs, op.slot);
          if (host.provider === 'google') {
            google.updateEvent(host.calendarId, event.id, {
              start: { dateTime: times.startTime },
              end: { dateTime: times.endTime },
            });
          } else {
            microsoft.updateEvent(event.id, { start: graphTime(times.startTime), end: graphTime(times.endTime) });
          }
          values = [{ group: 'times', ...times }];
          detail += ` → ${times.startTime}`;
          break;
        }
        case 'host-rename':
          if (host.provider === 'google') google.updateEvent(host.calendarId, event.id, { summary: op.title });
          else microsoft.updateEvent(event.id, { subject: op.title });
          values = [{ group: 'title', title: op.title }];
          detail += ` → "${op.title}"`;
          break;
        case 'host-guests':
          if (host.provider === 'google') {
            google.updateEvent(host.calendarId, event.id, {
              attendees: op.guests.map((g) => ({ email: g.email, displayName: g.name })),
            });
          } else {
            microsoft.updateEvent(event.id, {
              attendees: op.guests.map((g) => ({ type: 'required' as const, emailAddress: { address: g.email, name: g.name } })),
            });
          }
          values = [{ group: 'attendees', emails: op.guests.map((g) => g.email) }];
          detail += ` → [${op.guests.map((g) => g.email.split('@')[0]).join(', ')}]`;
          break;
        case 'host-delete':
          if (host.provider === 'google') google.deleteEvent(host.calendarId, event.id);
          else microsoft.deleteEvent(event.id);
          values = [{ group: 'status', status: 'cancelled' }];
          break;
        case 'host-recurring':
          if (host.provider === 'google') {
            google.updateEvent(host.calendarId, event.id, { recurrence: ['RRULE:FREQ=DAILY;COUNT=3'] });
          } else {
            microsoft.updateEvent(event.id, {
              recurrence: {
                pattern: { type: 'daily', interval: 1 },
                range: {
                  type: 'numbered',
                  startDate: event.startTime.slice(0, 10),
                  numberOfOccurrences: 3,
                  recurrenceTimeZone: 'UTC',
                },
              },
            });
          }
          values = [{ group: 'recurrence' }];
          break;
      }
    } catch (error) {
      this.record({
        kind: op.kind,
        booking: op.booking,
        due,
        start,
        end: start,
        outcome: 'skipped',
        detail: `emulator refused: ${error instanceof Error ? error.message : String(error)}`.slice(0, 200),
      });
      return;
    }
    this.record({ kind: op.kind, booking: op.booking, due, start, end: start, outcome: 'ok', values, detail });
  }

  // ---- API calls ----------------------------------------------------------------------------------

  private async apiChange(op: Extract<ScheduledOp, { kind: 'api-reschedule' | 'api-cancel' }>): Promise<void> {
    const due = op.at;
    const booking = await this.resolveBooking(op.booking);
    const start = this.now();
    if (!booking) {
      this.record({
        kind: op.kind,
        booking: op.booking,
        due,
        start,
        end: start,
        outcome: 'skipped',
        detail: 'booking not created',
      });
      return;
    }
    const instance = this.pickInstance();
    if (!instance) {
      this.record({ kind: op.kind, booking: op.booking, due, start, end: start, outcome: 'refused', detail: 'no instance up' });
      return;
    }
    const values: Value[] =
      op.kind === 'api-reschedule'
        ? [{ group: 'times', ...slotTimes(this.options.baseDayMs, op.slot) }]
        : [{ group: 'status', status: 'cancelled' }];
    const path = `/api/v1/bookings/${booking.id}/${op.kind === 'api-reschedule' ? 'reschedule' : 'cancel'}`;
    const body =
      op.kind === 'api-reschedule'
        ? { startTime: (values[0] as { startTime: string }).startTime, endTime: (values[0] as { endTime: string }).endTime }
        : { reason: 'chaos: cancelled through the API' };
    try {
      const res = await this.request<BookingView>(instance, 'POST', path, body);
      const end = this.now();
      const ok = res.status >= 200 && res.status < 300;
      const serverError = res.status >= 500;
      let historyAt: string | undefined;
      if (ok) {
        const action = op.kind === 'api-reschedule' ? 'rescheduled' : 'cancelled';
        const entry = [...(res.body.history ?? [])].reverse().find((h) => h.source === 'api' && h.action === action);
        const matches =
          entry &&
          (op.kind === 'api-cancel' ||
            (entry.changes as { to?: { startTime?: string } }).to?.startTime === (values[0] as { startTime: string }).startTime);
        if (matches && entry) historyAt = entry.at;
      }
      this.record({
        kind: op.kind,
        booking: op.booking,
        due,
        start,
        end: ok ? end : serverError ? Infinity : end,
        outcome: ok ? 'ok' : serverError ? 'indeterminate' : 'refused',
        status: res.status,
        instance: instance.name,
        values,
        historyAt,
        detail: ok
          ? op.kind === 'api-reschedule'
            ? `→ ${(values[0] as { startTime: string }).startTime}`
            : undefined
          : shortBody(res.body),
      });
    } catch (error) {
      this.record({
        kind: op.kind,
        booking: op.booking,
        due,
        start,
        end: Infinity,
        outcome: 'indeterminate',
        instance: instance.name,
        values,
        detail: `no answer: ${error instanceof Error ? error.message : String(error)}`.slice(0, 120),
      });
    }
  }

  private async apiCreate(op: Extract<ScheduledOp, { kind: 'api-create' }>): Promise<void> {
    const due = op.at;
    const record: BookingRecord = { index: op.booking, host: op.host, description: this.descriptionOf(op.booking) };
    this.bookings[op.booking] = record;
    const start = this.now();
    const values: Value[] = [
      { group: 'times', ...slotTimes(this.options.baseDayMs, op.slot) },
      { group: 'title', title: op.title },
      { group: 'attendees', emails: op.guests.map((g) => g.email) },
    ];
    const instance = this.pickInstance();
    if (!instance) {
      this.record({ kind: op.kind, booking: op.booking, due, start, end: start, outcome: 'refused', detail: 'no instance up' });
      return;
    }
    try {
      const res = await this.request<BookingView>(
        instance,
        'POST',
        '/api/v1/bookings',
        this.createBody(op.host, op.slot, op.title, op.guests, op.booking),
      );
      const end = this.now();
      if (res.status === 201) {
        record.id = res.body.id;
        record.uid = res.body.uid;
        this.record({
          kind: op.kind,
          booking: op.booking,
          due,
          start,
          end,
          outcome: 'ok',
          status: 201,
          instance: instance.name,
          values,
          historyAt: res.body.history[0]?.at,
          detail: `booking ${res.body.id}`,
        });
      } else {
        record.createIndeterminate = res.status >= 500;
        this.record({
          kind: op.kind,
          booking: op.booking,
          due,
          start,
          end: res.status >= 500 ? Infinity : end,
          outcome: res.status >= 500 ? 'indeterminate' : 'refused',
          status: res.status,
          instance: instance.name,
          values,
          detail: shortBody(res.body),
        });
      }
    } catch (error) {
      record.createIndeterminate = true;
      this.record({
        kind: op.kind,
        booking: op.booking,
        due,
        start,
        end: Infinity,
        outcome: 'indeterminate',
        instance: instance.name,
        values,
        detail: `no answer: ${error instanceof Error ? error.message : String(error)}`.slice(0, 120),
      });
    }
  }

  // ---- faults -------------------------------------------------------------------------------------

  private async fault(op: Extract<ScheduledOp, { kind: 'fault' }>): Promise<void> {
    const start = this.now();
    const { google, microsoft } = this.emulators;
    const f = op.fault;
    const isGoogle = op.provider === 'google';
    const operation = operationName(op.provider, 'operation' in f ? f.operation : 'any');
    this.faults.push({ at: start, provider: op.provider, fault: f });
    switch (f.kind) {
      case 'drop':
        if (isGoogle) google.faults.dropNextPushes(f.n);
        else microsoft.faults.dropNextNotifications(f.n);
        break;
      case 'duplicate':
        if (isGoogle) google.faults.duplicateNextPushes(f.n, f.copies);
        else microsoft.faults.duplicateNextNotifications(f.n, f.copies);
        break;
      case 'hold':
        if (isGoogle) google.faults.holdPushes();
        else microsoft.faults.holdNotifications();
        this.later(f.forMs, async () => {
          if (isGoogle) await google.faults.releasePushes({ reverse: f.reverse });
          else await microsoft.faults.releaseNotifications(f.reverse);
          this.record({
            kind: 'fault-end',
            due: start + f.forMs,
            start: this.now(),
            end: this.now(),
            outcome: 'ok',
            detail: `${op.provider} pushes released${f.reverse ? ' in reverse' : ''}`,
          });
        });
        break;
      case 'delay':
        if (isGoogle) google.faults.delayPushes(f.ms);
        else microsoft.faults.delayNotifications(f.ms);
        this.later(f.forMs, async () => {
          if (isGoogle) google.faults.delayPushes(0);
          else microsoft.faults.delayNotifications(0);
        });
        break;
      case 'fail':
        if (isGoogle) google.faults.failNext({ status: f.status, count: f.count, operation });
        else microsoft.faults.failNext({ status: f.status, count: f.count, operation });
        break;
      case 'hang':
        if (isGoogle) google.faults.slowNext({ delayMs: f.ms, count: f.count, operation });
        else microsoft.faults.slowNext({ ms: f.ms, count: f.count, operation });
        break;
      case 'shuffle':
        microsoft.faults.shuffleDelta(true);
        this.later(f.forMs, async () => microsoft.faults.shuffleDelta(false));
        break;
    }
    this.record({
      kind: 'fault',
      due: op.at,
      start,
      end: start,
      outcome: 'ok',
      detail: `${op.provider} ${describeFault(f, operation)}`,
    });
  }

  // ---- kill -9 ------------------------------------------------------------------------------------

  private async kill(op: Extract<ScheduledOp, { kind: 'kill' }>): Promise<void> {
    const start = this.now();
    const byName = (n: string) => this.instances.find((i) => i.name === n) as ServiceInstance;
    let targets: ServiceInstance[];
    if (op.target === 'both') targets = this.instances.filter((i) => i.alive);
    else {
      const preferred = byName(op.target);
      targets = preferred.alive ? [preferred] : this.instances.filter((i) => i.alive).slice(0, 1);
    }
    if (targets.length === 0) {
      // Both are down already (restarting): this kill comes a little later, to the first one back.
      if (!this.stopped) this.later(500, () => this.kill({ ...op, at: op.at + 500 }));
      return;
    }
    for (const instance of targets) {
      const pid = instance.pid;
      const was = instance.state;
      if (await instance.kill9()) {
        const downMs = op.downMs + (targets.length > 1 ? this.runtime.int(0, 800) : 0);
        this.kills.push({ at: this.now(), instance: instance.name, pid });
        this.record({
          kind: 'kill',
          due: op.at,
          start,
          end: this.now(),
          outcome: 'ok',
          instance: instance.name,
          detail: `kill -9 pid ${pid} (${was}); restart in ${downMs} ms`,
        });
        this.restarting.add(instance.name);
        this.later(downMs, () => this.restart(instance));
      }
    }
  }

  async restart(instance: ServiceInstance): Promise<void> {
    if (instance.alive) return;
    const start = this.now();
    try {
      const ms = await instance.start();
      this.record({
        kind: 'restart',
        due: start,
        start,
        end: this.now(),
        outcome: 'ok',
        instance: instance.name,
        detail: `healthy after ${Math.round(ms)} ms`,
      });
    } catch (error) {
      // Killed again while starting: the kill's own restart brings it back.
      if (!instance.alive && this.restarting.has(instance.name)) {
        this.record({
          kind: 'restart',
          due: start,
          start,
          end: this.now(),
          outcome: 'skipped',
          instance: instance.name,
          detail: 'killed while starting',
        });
        return;
      }
      throw error;
    } finally {
      this.restarting.delete(instance.name);
    }
  }
}

// ---- provider-neutral views of events -------------------------------------------------------------

function graphTime(iso: string): { dateTime: string; timeZone: string } {
  return { dateTime: iso.replace(/Z$/, ''), timeZone: 'UTC' };
}

/** Graph's `YYYY-MM-DDTHH:mm:ss.0000000` in UTC, as an ISO instant. */
function fromGraphTime(t: { dateTime: string; timeZone: string }): string {
  return new Date(`${t.dateTime.slice(0, 19)}Z`).toISOString();
}

export function googleEvent(e: GoogleEvent, ownerEmail: string): CalendarEvent {
  const organizer = e.organizer?.email?.toLowerCase() ?? ownerEmail.toLowerCase();
  return {
    id: e.id,
    startTime: new Date(e.start.dateTime ?? `${e.start.date}T00:00:00Z`).toISOString(),
    endTime: new Date(e.end.dateTime ?? `${e.end.date}T00:00:00Z`).toISOString(),
    title: e.summary ?? '',
    guests: (e.attendees ?? [])
      .filter((a) => !a.resource && !a.organizer && a.email.toLowerCase() !== organizer)
      .map((a) => a.email.toLowerCase())
      .sort(),
    recurring: Boolean(e.recurrence?.length),
    raw: e,
  };
}

export function graphEvent(e: GraphEvent, ownerEmail: string): CalendarEvent {
  const organizer = e.organizer?.emailAddress?.address?.toLowerCase() ?? ownerEmail.toLowerCase();
  return {
    id: e.id,
    startTime: fromGraphTime(e.start),
    endTime: fromGraphTime(e.end),
    title: e.subject ?? '',
    guests: (e.attendees ?? [])
      .filter((a) => a.type !== 'resource' && a.emailAddress.address.toLowerCase() !== organizer)
      .map((a) => a.emailAddress.address.toLowerCase())
      .sort(),
    recurring: e.type === 'seriesMaster',
    raw: e,
  };
}

export function operationName(provider: ProviderKind, kind: OperationKind): string | undefined {
  const names: Record<ProviderKind, Record<OperationKind, string | undefined>> = {
    google: {
      list: 'events.list',
      get: 'events.get',
      create: 'events.insert',
      update: 'events.patch',
      delete: 'events.delete',
      token: 'token',
      any: undefined,
    },
    outlook: {
      list: 'calendarView.delta',
      get: 'events.get',
      create: 'events.create',
      update: 'events.update',
      delete: 'events.delete',
      token: 'token',
      any: undefined,
    },
  };
  return names[provider][kind];
}

export function describeFault(f: FaultSpec, operation?: string): string {
  switch (f.kind) {
    case 'drop':
      return `drop next ${f.n} push(es)`;
    case 'duplicate':
      return `duplicate next ${f.n} push(es) ×${f.copies}`;
    case 'hold':
      return `hold pushes for ${f.forMs} ms, then release${f.reverse ? ' reversed' : ''}`;
    case 'delay':
      return `delay pushes ${f.ms} ms for ${f.forMs} ms`;
    case 'fail':
      return `next ${f.count} ${operation ?? 'call(s)'} answer ${f.status}`;
    case 'hang':
      return `next ${f.count} ${operation ?? 'call(s)'} hang ${f.ms} ms`;
    case 'shuffle':
      return `shuffle delta pages for ${f.forMs} ms`;
  }
}

function shortBody(body: unknown): string {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return (text ?? '').slice(0, 160);
}
