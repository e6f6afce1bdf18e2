/**
 * Push → booking rescheduled, end to end: the host drags the booking's event in (emulated) Google
 * Calendar; the emulator sends a real HTTP push; calsync verifies it, enqueues a sync, the worker
 * picks the job up (LISTEN/NOTIFY, default poll interval), lists the change, records it and the
 * saga reschedules the booking. Timed in-process from the edit to the BookingRescheduled event on
 * the app's CQRS EventBus, one move at a time, the queue idle before each.
 */
import { EventBus } from '@nestjs/cqrs';
import { BookingRescheduled } from '../src/modules/bookings/events/booking.events.js';
import type { Bench, BenchContext } from './support/bench.js';
import { expectStatus, sleep } from './support/bench-env.js';
import { SYNC_FLAG, createGoogleHost, removeHost, runTask, setUserFlag, todayUtc, waitForQueueIdle } from './support/hosts.js';
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

export const pushToRescheduleBench: Bench = {
  name: 'push-to-reschedule',
  description: `event moved in Google → booking rescheduled, over real HTTP pushes (${ITERATIONS} moves)`,

  async run({ env, log }: BenchContext, report: BenchReport): Promise<void> {
    const host = await createGoogleHost(env, 'reschedule', { destination: true });
    await setUserFlag(env, SYNC_FLAG, host.userId);
    const subscribed = await runTask(env, 'subscribe-calendars');
    await waitForQueueIdle(env);
    if (env.emulator.liveChannels(host.primaryCalendarId).length !== 1) {
      throw new Error(`the destination calendar has no live channel (${JSON.stringify(subscribed)})`);
    }

    const base = todayUtc().getTime() + 3 * 86_400_000 + 10 * 3600_000; // in three days, 10:00 UTC
    const durationMs = 30 * 60_000;
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
    // Written to Google by the write-through job; its echo handled before anything is timed.
    let eventId: string | undefined;
    const deadline = performance.now() + 10_000;
    while (!eventId) {
      const view = expectStatus(await env.api<BookingView>('GET', `/api/v1/bookings/${booking.id}`), 200, 'read booking');
      eventId = view.references[0]?.externalEventId;
      if (!eventId && performance.now() > deadline) throw new Error('the booking was not written to Google within 10 s');
      if (!eventId) await sleep(10);
    }
    await waitForQueueIdle(env);
    const pushesBefore = env.emulator.pushLog.length;

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
    let timeouts = 0;
    try {
      for (let i = 0; i < WARMUP_ITERATIONS + ITERATIONS; i++) {
        // 15-minute steps over two hours; consecutive moves always differ and stay in the future.
        const startMs = base + ((i + 1) % 8) * 15 * 60_000;
        const arrived = new Promise<number>((resolve) => {
          waiting = { startMs, resolve };
        });
        const timer = new Promise<null>((resolve) => setTimeout(() => resolve(null), TIMEOUT_MS));
        const pushIndex = env.emulator.pushLog.length;
        const wallStart = Date.now();
        const started = performance.now();
        env.emulator.updateEvent(host.primaryCalendarId, eventId, {
          start: { dateTime: new Date(startMs).toISOString() },
          end: { dateTime: new Date(startMs + durationMs).toISOString() },
        });
        const at = await Promise.race([arrived, timer]);
        waiting = undefined;
        if (i >= WARMUP_ITERATIONS) {
          if (at === null) timeouts += 1;
          else samples.push(at - started);
          const push = env.emulator.pushLog.slice(pushIndex).find((p) => p.status === 200);
          if (push) pushAnsweredMs.push(push.at - wallStart);
        }
        // Each move starts from a quiet system: its echo, if any, and the sync are done.
        await waitForQueueIdle(env);
      }
    } finally {
      subscription.unsubscribe();
    }

    const view = expectStatus(await env.api<BookingView>('GET', `/api/v1/bookings/${booking.id}`), 200, 'read booking');
    const lastStart = base + ((WARMUP_ITERATIONS + ITERATIONS) % 8) * 15 * 60_000;
    const rescheduledFromGoogle = view.history.filter((h) => h.action === 'rescheduled' && h.source === 'google_calendar').length;
    const latency = summarize(samples);
    log(
      `${samples.length} moves: p50 ${latency.p50.toFixed(1)} ms, p99 ${latency.p99.toFixed(1)} ms, max ${latency.max.toFixed(1)} ms, ` +
        `timeouts ${timeouts}`,
    );

    report.add('move → BookingRescheduled: p50', samples.length ? latency.p50 : null, 'ms', { op: '<', value: 100 });
    report.add('move → BookingRescheduled: p99', samples.length ? latency.p99 : null, 'ms', { op: '<', value: 500 });
    report.add('move → BookingRescheduled: max', samples.length ? latency.max : null, 'ms');
    const pushAnswered = summarize(pushAnsweredMs);
    report.add('of which push sent+answered: p50', pushAnsweredMs.length ? pushAnswered.p50 : null, 'ms');
    report.add('moves not applied within 5 s', timeouts, '', { op: '<=', value: 0, label: '0' });
    if (Date.parse(view.startTime) !== lastStart) {
      report.note(`booking ends at ${view.startTime}, expected ${new Date(lastStart).toISOString()}`);
    }
    if (rescheduledFromGoogle !== WARMUP_ITERATIONS + ITERATIONS) {
      report.note(`history has ${rescheduledFromGoogle} google_calendar reschedules for ${WARMUP_ITERATIONS + ITERATIONS} moves`);
    }
    report.details.settings = {
      iterations: ITERATIONS,
      warmupIterations: WARMUP_ITERATIONS,
      timeoutMs: TIMEOUT_MS,
      queuePollIntervalMs: env.config.queuePollIntervalMs,
      workerConcurrency: env.config.workerConcurrency,
    };
    report.details.latencyMs = roundSummary(latency, 3);
    report.details.pushSentAndAnsweredMs = roundSummary(pushAnswered, 1);
    report.details.samplesMs = samples.map((s) => round(s, 3));
    report.details.timeouts = timeouts;
    report.details.pushesSent = env.emulator.pushLog.length - pushesBefore;
    report.details.historyReschedulesFromGoogle = rescheduledFromGoogle;

    await removeHost(env, host);
  },
};
