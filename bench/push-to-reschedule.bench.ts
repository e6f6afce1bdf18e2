/**
 * Push → booking rescheduled, end to end, for each provider: the host drags the booking's event in
 * (emulated) Google Calendar or Outlook; the emulator sends a real HTTP push (Google: a channel
 * push; Graph: a change notification batch over its own client, with Outlook's second "updated"
 * 20 ms later); calsync verifies it, enqueues a sync, the worker picks the job up (LISTEN/NOTIFY,
 * default poll interval), lists the change (Google: syncToken; Graph: calendarView deltaLink over
 * HTTPS), records it and the saga reschedules the booking. Timed in-process from the edit to the
 * BookingRescheduled event on the app's CQRS EventBus, one move at a time, the queue idle before each.
 */
import { EventBus } from '@nestjs/cqrs';
import { BookingRescheduled } from '../src/modules/bookings/events/booking.events.js';
import type { Bench, BenchContext } from './support/bench.js';
import { type BenchApp, expectStatus, sleep } from './support/bench-env.js';
import {
  type BenchHost,
  type BenchProvider,
  SYNC_FLAG,
  createHost,
  removeHost,
  runTask,
  setUserFlag,
  todayUtc,
  waitForQueueIdle,
} from './support/hosts.js';
import type { BenchReport } from './support/report.js';
import { round, roundSummary, summarize } from './support/stats.js';

const ITERATIONS = 50;
const WARMUP_ITERATIONS = 3;
const TIMEOUT_MS = 5000;

interface BookingView {
  id: number;
  startTime: string;
  endTime: string;
  references: Array<{ externalEventId: string; externalCalendarId: string }>;
  history: Array<{ action: string; source: string }>;
}

/** What differs between the providers: how the user moves the event, and what the emulator logs of its pushes. */
interface ProviderDriver {
  label: string;
  /** Live channels (Google) or subscriptions (Graph) watching the calendar. */
  liveChannels(env: BenchApp, calendarId: string): number;
  /** The user's edit in the provider's UI (through the emulator's public method, which pushes as the provider does). */
  move(env: BenchApp, host: BenchHost, eventId: string, startMs: number, endMs: number): void;
  /** Pushes the emulator completed so far (sent, and answered or given up on). */
  pushes(env: BenchApp): Array<{ at: number; status: number | string }>;
  /** Pushes one edit makes (Outlook follows each update with a second "updated"). */
  pushesPerEdit: number;
  /** The status the app answers an accepted push with. */
  acceptedStatus: number;
  /** How the table names the push's share of the latency. */
  pushRow: string;
  /** Wall-clock arrival (ms) of the sync's first listing call for the calendar after `since`, as the emulator logged it. */
  listedAt(env: BenchApp, calendarId: string, since: number): number | undefined;
}

const DRIVERS: Record<BenchProvider, ProviderDriver> = {
  google_calendar: {
    label: 'Google',
    liveChannels: (env, calendarId) => env.emulator.liveChannels(calendarId).length,
    move: (env, host, eventId, startMs, endMs) => {
      env.emulator.updateEvent(host.primaryCalendarId, eventId, {
        start: { dateTime: new Date(startMs).toISOString() },
        end: { dateTime: new Date(endMs).toISOString() },
      });
    },
    pushes: (env) => env.emulator.pushLog.map((p) => ({ at: p.at, status: p.status })),
    pushesPerEdit: 1,
    acceptedStatus: 200,
    pushRow: 'of which push sent+answered: p50',
    listedAt: (env, calendarId, since) =>
      env.emulator.calls.find((c) => c.at >= since && c.operation === 'events.list' && c.calendarId === calendarId)?.at,
  },
  office365_calendar: {
    label: 'Outlook',
    liveChannels: (env, calendarId) =>
      env.microsoft.subscriptions().filter((s) => !s.expired && s.calendarIds.includes(calendarId)).length,
    move: (env, _host, eventId, startMs, endMs) => {
      env.microsoft.updateEvent(eventId, {
        start: { dateTime: new Date(startMs).toISOString().slice(0, 19), timeZone: 'UTC' },
        end: { dateTime: new Date(endMs).toISOString().slice(0, 19), timeZone: 'UTC' },
      });
    },
    pushes: (env) =>
      env.microsoft.notificationLog.filter((n) => n.kind === 'notification').map((n) => ({ at: n.at, status: n.status })),
    pushesPerEdit: 2,
    acceptedStatus: 202,
    // The emulator, like Graph, gathers items for one URL for 5 ms before it POSTs them.
    pushRow: 'of which notification batched+sent+answered: p50',
    listedAt: (env, calendarId, since) =>
      env.microsoft.calls.find((c) => c.at >= since && c.operation === 'calendarView.delta' && c.calendarId === calendarId)?.at,
  },
};

export const pushToRescheduleBench = pushToReschedule('google_calendar', 'push-to-reschedule');
export const outlookPushToRescheduleBench = pushToReschedule('office365_calendar', 'outlook-push-to-reschedule');

function pushToReschedule(provider: BenchProvider, name: string): Bench {
  const driver = DRIVERS[provider];
  return {
    name,
    description:
      provider === 'google_calendar'
        ? `event moved in Google → booking rescheduled, over real HTTP pushes (${ITERATIONS} moves)`
        : `event moved in Outlook → booking rescheduled, over real Graph notifications (${ITERATIONS} moves)`,

    async run({ env, log }: BenchContext, report: BenchReport): Promise<void> {
      const host = await createHost(env, provider, 'reschedule', { destination: true });
      await setUserFlag(env, SYNC_FLAG, host.userId);
      const subscribed = await runTask(env, 'subscribe-calendars');
      await waitForQueueIdle(env);
      if (driver.liveChannels(env, host.primaryCalendarId) !== 1) {
        throw new Error(`the destination calendar has no live ${driver.label} channel (${JSON.stringify(subscribed)})`);
      }

      const base = todayUtc().getTime() + 3 * 86_400_000 + 10 * 3600_000; // in three days, 10:00 UTC
      const durationMs = 30 * 60_000;
      const pushesBeforeBooking = driver.pushes(env).length;
      const booking = expectStatus(
        await env.api<{ id: number }>('POST', '/api/v1/bookings', {
          userId: host.userId,
          title: 'Bench call',
          startTime: new Date(base).toISOString(),
          endTime: new Date(base + durationMs).toISOString(),
          attendees: [{ email: 'guest@example.com', name: 'Guest' }],
        }),
        201,
        'create booking',
      );
      // Written to the provider by the write-through job; its echo handled before anything is timed.
      let eventId: string | undefined;
      const deadline = performance.now() + 10_000;
      while (!eventId) {
        const view = expectStatus(await env.api<BookingView>('GET', `/api/v1/bookings/${booking.id}`), 200, 'read booking');
        eventId = view.references[0]?.externalEventId;
        if (!eventId && performance.now() > deadline)
          throw new Error(`the booking was not written to ${driver.label} within 10 s`);
        if (!eventId) await sleep(10);
      }
      await settlePushes(env, driver, pushesBeforeBooking);
      await waitForQueueIdle(env);
      const pushesBefore = driver.pushes(env).length;

      // Resolved from inside the subscriber, so the timestamp is taken the moment the event is published.
      let waiting: { startMs: number; resolve: (at: number) => void } | undefined;
      const subscription = env.app.get(EventBus).subscribe((event: unknown) => {
        if (!(event instanceof BookingRescheduled) || event.bookingId !== booking.id || !waiting) return;
        if (Date.parse(event.to.startTime) !== waiting.startMs) return;
        const at = performance.now();
        waiting.resolve(at);
        waiting = undefined;
      });

      const samples: number[] = [];
      const pushAnsweredMs: number[] = [];
      const listingStartedMs: number[] = [];
      let timeouts = 0;
      try {
        for (let i = 0; i < WARMUP_ITERATIONS + ITERATIONS; i++) {
          // 15-minute steps over two hours; consecutive moves always differ and stay in the future.
          const startMs = base + ((i + 1) % 8) * 15 * 60_000;
          const arrived = new Promise<number>((resolve) => {
            waiting = { startMs, resolve };
          });
          const timer = new Promise<null>((resolve) => setTimeout(() => resolve(null), TIMEOUT_MS));
          const pushIndex = driver.pushes(env).length;
          const wallStart = Date.now();
          const started = performance.now();
          driver.move(env, host, eventId, startMs, startMs + durationMs);
          const at = await Promise.race([arrived, timer]);
          waiting = undefined;
          // Each move starts from a quiet system: its pushes (Outlook's second "updated" included),
          // the syncs they caused and the echo of anything written back are done.
          await settlePushes(env, driver, pushIndex);
          if (i >= WARMUP_ITERATIONS) {
            if (at === null) timeouts += 1;
            else samples.push(at - started);
            const push = driver
              .pushes(env)
              .slice(pushIndex)
              .find((p) => p.status === driver.acceptedStatus);
            if (push) pushAnsweredMs.push(push.at - wallStart);
            const listed = driver.listedAt(env, host.primaryCalendarId, wallStart);
            if (listed !== undefined) listingStartedMs.push(listed - wallStart);
          }
          await waitForQueueIdle(env);
        }
      } finally {
        subscription.unsubscribe();
      }

      const view = expectStatus(await env.api<BookingView>('GET', `/api/v1/bookings/${booking.id}`), 200, 'read booking');
      const lastStart = base + ((WARMUP_ITERATIONS + ITERATIONS) % 8) * 15 * 60_000;
      const rescheduledFromProvider = view.history.filter((h) => h.action === 'rescheduled' && h.source === provider).length;
      const latency = summarize(samples);
      log(
        `${samples.length} moves: p50 ${latency.p50.toFixed(1)} ms, p99 ${latency.p99.toFixed(1)} ms, max ${latency.max.toFixed(1)} ms, ` +
          `timeouts ${timeouts}`,
      );

      report.add('move → BookingRescheduled: p50', samples.length ? latency.p50 : null, 'ms', { op: '<', value: 100 });
      report.add('move → BookingRescheduled: p99', samples.length ? latency.p99 : null, 'ms', { op: '<', value: 500 });
      report.add('move → BookingRescheduled: max', samples.length ? latency.max : null, 'ms');
      const pushAnswered = summarize(pushAnsweredMs);
      report.add(driver.pushRow, pushAnsweredMs.length ? pushAnswered.p50 : null, 'ms');
      const listingStarted = summarize(listingStartedMs);
      // Push, intake, the debounce (PUSH_DEBOUNCE_MS) and the job's pick-up; what follows is listing, recording and the saga.
      report.add('of which edit → sync listing call: p50', listingStartedMs.length ? listingStarted.p50 : null, 'ms');
      report.add('moves not applied within 5 s', timeouts, '', { op: '<=', value: 0, label: '0' });
      if (Date.parse(view.startTime) !== lastStart) {
        report.note(`booking ends at ${view.startTime}, expected ${new Date(lastStart).toISOString()}`);
      }
      if (rescheduledFromProvider !== WARMUP_ITERATIONS + ITERATIONS) {
        report.note(`history has ${rescheduledFromProvider} ${provider} reschedules for ${WARMUP_ITERATIONS + ITERATIONS} moves`);
      }
      const refused = driver
        .pushes(env)
        .slice(pushesBefore)
        .filter((p) => p.status !== driver.acceptedStatus).length;
      if (refused > 0) report.note(`${refused} pushes were not answered ${driver.acceptedStatus} (see details.pushStatuses)`);
      report.details.settings = {
        iterations: ITERATIONS,
        warmupIterations: WARMUP_ITERATIONS,
        timeoutMs: TIMEOUT_MS,
        queuePollIntervalMs: env.config.queuePollIntervalMs,
        workerConcurrency: env.config.workerConcurrency,
      };
      report.details.latencyMs = roundSummary(latency, 3);
      report.details.pushSentAndAnsweredMs = roundSummary(pushAnswered, 1);
      report.details.editToListingCallMs = roundSummary(listingStarted, 1);
      report.details.samplesMs = samples.map((s) => round(s, 3));
      report.details.timeouts = timeouts;
      report.details.pushesSent = driver.pushes(env).length - pushesBefore;
      report.details.pushStatuses = countBy(driver.pushes(env).slice(pushesBefore), (p) => String(p.status));
      report.details.historyReschedulesFromProvider = rescheduledFromProvider;

      await removeHost(env, host);
    },
  };
}

/** Waits (bounded) until the emulator has completed the pushes one edit makes, counted from `since`. */
async function settlePushes(env: BenchApp, driver: ProviderDriver, since: number): Promise<void> {
  const deadline = performance.now() + 2000;
  while (driver.pushes(env).length - since < driver.pushesPerEdit && performance.now() < deadline) await sleep(2);
}

function countBy<T>(items: readonly T[], key: (item: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of items) out[key(item)] = (out[key(item)] ?? 0) + 1;
  return out;
}
