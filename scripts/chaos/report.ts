import { type CheckReport, type Mismatch, fmtT } from './checks.js';
import type { LatencySample, TickReport } from './measure.js';
import type { HostSideReport } from './host-side.js';
import type { QuiesceReport } from './quiesce.js';
import type { BookingView, World } from './world.js';

export interface RunFacts {
  seed: number;
  durationSec: number;
  killsAsked: number;
  replay: string;
  database: string;
  workDir: string;
  setupMs: number;
  chaosMs: number;
  totalMs: number;
}

export interface Tally {
  kills: number;
  killEvents: number;
  killEventsOfBoth: number;
  killsByInstance: Record<string, number>;
  restarts: number;
  bootMedianMs: number | null;
  bootMaxMs: number | null;
  hostEdits: Record<string, number>;
  hostEditsSkipped: number;
  skipReasons: Record<string, number>;
  api: Record<string, { ok: number; refused: number; unanswered: number }>;
  pushesDelivered: number;
  pushesDropped: number;
  pushesDuplicated: number;
  pushesLostNoInstance: number;
  holdWindows: number;
  reversedReleases: number;
  delayWindows: number;
  shuffleWindows: number;
  injected: Record<string, number>;
  hung: number;
  harnessErrors: number;
}

export function tally(world: World, proxyNoBackend: number): Tally {
  const ops = world.ops;
  const hostKinds = ['host-move', 'host-rename', 'host-guests', 'host-delete', 'host-recurring'];
  const hostEdits: Record<string, number> = {};
  for (const k of hostKinds) hostEdits[k.replace('host-', '')] = ops.filter((o) => o.kind === k && o.outcome === 'ok').length;
  const api: Tally['api'] = {};
  for (const k of ['api-reschedule', 'api-cancel', 'api-create']) {
    const of = ops.filter((o) => o.kind === k);
    api[k.replace('api-', '')] = {
      ok: of.filter((o) => o.outcome === 'ok').length,
      refused: of.filter((o) => o.outcome === 'refused').length,
      unanswered: of.filter((o) => o.outcome === 'indeterminate').length,
    };
  }
  const { google, microsoft } = world.emulators;
  const gPush = google.pushLog;
  const mNote = microsoft.notificationLog.filter((n) => n.kind === 'notification');
  const injected: Record<string, number> = {};
  for (const c of [...google.calls, ...microsoft.calls]) {
    if (c.status === 429 || c.status === 500 || c.status === 503)
      injected[String(c.status)] = (injected[String(c.status)] ?? 0) + 1;
  }
  const boots = world.instances.flatMap((i) => i.bootTimes).sort((a, b) => a - b);
  const killsByInstance: Record<string, number> = {};
  for (const k of world.kills) killsByInstance[k.instance] = (killsByInstance[k.instance] ?? 0) + 1;
  const faults = world.faults.map((f) => f.fault);
  const killOps = ops.filter((o) => o.kind === 'kill' && o.outcome === 'ok');
  const byDue = new Map<number, number>();
  for (const o of killOps) byDue.set(o.due, (byDue.get(o.due) ?? 0) + 1);
  return {
    kills: world.kills.filter((k) => !k.instance.includes('measurement')).length,
    killEvents: byDue.size,
    killEventsOfBoth: [...byDue.values()].filter((n) => n > 1).length,
    killsByInstance,
    restarts: ops.filter((o) => o.kind === 'restart' && o.outcome === 'ok').length,
    bootMedianMs: boots.length ? boots[Math.floor(boots.length / 2)] : null,
    bootMaxMs: boots.length ? boots[boots.length - 1] : null,
    hostEdits,
    hostEditsSkipped: ops.filter((o) => o.kind.startsWith('host-') && o.outcome === 'skipped').length,
    skipReasons: (() => {
      const reasons: Record<string, number> = {};
      for (const o of ops.filter((x) => x.kind.startsWith('host-') && x.outcome === 'skipped')) {
        const reason = (o.detail ?? '?').split(':')[0];
        reasons[reason] = (reasons[reason] ?? 0) + 1;
      }
      return reasons;
    })(),
    api,
    pushesDelivered:
      gPush.filter((p) => typeof p.status === 'number' && p.status < 300).length +
      mNote.filter((n) => typeof n.status === 'number' && n.status < 300).length,
    pushesDropped: gPush.filter((p) => p.status === 'dropped').length + mNote.filter((n) => n.status === 'dropped').length,
    pushesDuplicated: world.emulators.counters.duplicatedCopies,
    pushesLostNoInstance: proxyNoBackend,
    holdWindows: faults.filter((f) => f.kind === 'hold').length,
    reversedReleases: faults.filter((f) => f.kind === 'hold' && f.reverse).length,
    delayWindows: faults.filter((f) => f.kind === 'delay').length,
    shuffleWindows: faults.filter((f) => f.kind === 'shuffle').length,
    injected,
    hung: world.emulators.counters.hung,
    harnessErrors: world.errors.length,
  };
}

const s = (ms: number | null | undefined) => (ms === null || ms === undefined ? '—' : `${(ms / 1000).toFixed(2)} s`);

export function formatTable(
  facts: RunFacts,
  t: Tally,
  checks: CheckReport | null,
  quiet: QuiesceReport | null,
  latency: LatencySample[],
  ticks: TickReport | null,
  hostSide: HostSideReport | null = null,
): string {
  const rows: Array<[string, string]> = [];
  const add = (k: string, v: string) => rows.push([k, v]);
  add('seed', String(facts.seed));
  add('schedule', `${facts.durationSec} s of chaos, ${facts.killsAsked} kills asked; database: ${facts.database}`);
  add(
    'kills (kill -9)',
    `${t.kills} processes (${Object.entries(t.killsByInstance)
      .filter(([k]) => !k.includes('measurement'))
      .map(([k, n]) => `${k} ${n}`)
      .join(
        ', ',
      )}) in ${t.killEvents} kill events, ${t.killEventsOfBoth} of both at once; ${t.restarts} restarts, boot median ${s(t.bootMedianMs)}, max ${s(t.bootMaxMs)}`,
  );
  const edits = Object.values(t.hostEdits).reduce((a, b) => a + b, 0);
  add(
    'host edits',
    `${edits} (${Object.entries(t.hostEdits)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ')}); ${t.hostEditsSkipped} skipped (${
      Object.entries(t.skipReasons)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ') || 'none'
    })`,
  );
  add(
    'API calls',
    Object.entries(t.api)
      .map(([k, v]) => `${k} ${v.ok} ok / ${v.refused} refused / ${v.unanswered} unanswered`)
      .join('; '),
  );
  add('pushes delivered', String(t.pushesDelivered));
  add(
    'pushes dropped',
    `${t.pushesDropped} by the emulators; ${t.pushesLostNoInstance} push requests found no instance up (502)`,
  );
  add('pushes duplicated', `${t.pushesDuplicated} extra copies`);
  add(
    'pushes reordered / delayed',
    `${t.holdWindows} hold windows (${t.reversedReleases} released in reverse), ${t.delayWindows} delay windows, ${t.shuffleWindows} shuffled-delta windows`,
  );
  add(
    'faults injected',
    `${
      Object.entries(t.injected)
        .map(([k, n]) => `${k}×${n}`)
        .join(', ') || 'none'
    } answered; ${t.hung} hung/slow responses`,
  );
  if (quiet) {
    add(
      'quiescence',
      `${quiet.stable ? 'stable' : 'NOT STABLE'} after ${quiet.rounds} round(s), ${s(quiet.ms)}; ${quiet.fastForwarded} job retry backoffs cut short; ${quiet.adminFullResyncs} admin full resync(s) of calendars backing off`,
    );
    add(
      'jobs stuck / out of attempts',
      `${quiet.stuckJobs.length} stuck (locked by a dead worker, or queued behind one) ${quiet.stuckJobs.length ? '✗' : '✓'}; ${quiet.failedJobs.length} out of attempts ${quiet.failedJobs.length ? '✗' : '✓'}`,
    );
  }
  if (checks) {
    add('bookings checked', `${checks.bookingsChecked} (${checks.accepted} accepted, ${checks.cancelled} cancelled)`);
    const affected = new Set(checks.mismatches.map((m) => m.bookingId ?? -1)).size;
    add('MISMATCHES', `${checks.mismatches.length}${checks.mismatches.length ? ` (${affected} booking(s))` : ''}`);
    add(
      'one live channel per calendar',
      `${checks.channels.withOneLiveChannel}/${checks.channels.calendars} calendars ${checks.channels.problems.length === 0 ? '✓' : '✗'}`,
    );
  }
  if (hostSide) {
    const faults = hostSide.injected;
    add(
      'host told (webhooks, feed)',
      `${hostSide.events} events; the receiver got ${hostSide.receipts} requests (faults: 500×${faults.error500}, 503×${faults.error503}, ` +
        `${faults.hung} hung, ${faults.slowSuccess} answered after the 10 s limit); ${hostSide.duplicates} event(s) accepted more than once ` +
        `(at least once: the receiver deduplicates on webhook-id); the feed walked in ${hostSide.feedPages} pages, ${hostSide.feedItems} items ` +
        `${hostSide.mismatches.length === 0 ? '✓' : '✗'}`,
    );
  }
  for (const variant of ['pending', 'all-down'] as const) {
    const samples = latency.filter((l) => l.variant === variant);
    if (samples.length === 0) continue;
    // Measured from the restarted instance answering /health: booting is not what is measured.
    const afterBoot = (l: LatencySample) => (l.landedMs === null ? null : Math.max(0, l.landedMs - l.bootMs));
    const landed = samples.map(afterBoot).filter((v): v is number => v !== null);
    const worst = landed.length === samples.length ? Math.max(...landed) : null;
    const label = variant === 'pending' ? 'healthy → pending change landed' : 'healthy → change made while all were down landed';
    add(
      label,
      `${samples.map((l) => `${l.provider} ${s(afterBoot(l))}${l.note ? ` (${l.note})` : ''} [boot ${s(l.bootMs)}]`).join(', ')}; worst ${s(worst)} (target < 5 s) ${worst !== null && worst < 5000 ? '✓' : '✗'}`,
    );
  }
  if (ticks) {
    const perTick = ticks.resyncRuns / ticks.ticks;
    add(
      'scheduled task runs per tick',
      `resync-calendars ran ${ticks.resyncRuns}× in ${ticks.ticks} ticks of ${ticks.intervalSeconds} s = ${perTick.toFixed(2)} per tick (target 1) ${perTick <= 1.01 ? '✓' : '✗'}; all: ${
        Object.entries(ticks.runsByTask)
          .map(([k, n]) => `${k} ${n}`)
          .join(', ') || 'none'
      }`,
    );
    add(
      'listings per calendar per tick',
      `${(ticks.listingsPerCalendar.mean / ticks.ticks).toFixed(2)} mean (min ${ticks.listingsPerCalendar.min}, max ${ticks.listingsPerCalendar.max} in the window)`,
    );
  }
  add('time', `set-up ${s(facts.setupMs)}, chaos ${s(facts.chaosMs)}, total ${s(facts.totalMs)}`);
  if (t.harnessErrors) add('harness errors', String(t.harnessErrors));
  add('replay', facts.replay);
  const width = Math.max(...rows.map(([k]) => k.length));
  return [
    '| ' + 'what'.padEnd(width) + ' | result |',
    '|' + '-'.repeat(width + 2) + '|--------|',
    ...rows.map(([k, v]) => `| ${k.padEnd(width)} | ${v} |`),
  ].join('\n');
}

/** Each mismatch with its booking's timeline: the run's ops on it, faults and kills around them, its history, outbox rows and event. */
export async function formatMismatches(world: World, checks: CheckReport): Promise<string> {
  if (checks.mismatches.length === 0) return '';
  const out: string[] = [];
  out.push('\n── service state at the end');
  const calendars = await world.db.query<Record<string, unknown>>(
    `SELECT "id", "userId", "integration", left("externalId", 40) AS "externalId", "channelId" IS NOT NULL AS channel, "channelExpiration",
            "syncedAt", "syncErrorCount", left("lastError", 160) AS "lastError", "nextSubscribeAttemptAt"
       FROM "SelectedCalendar" ORDER BY "id"`,
  );
  for (const c of calendars.rows) out.push(`   calendar ${JSON.stringify(c)}`);
  const jobs = await world.db.query<Record<string, unknown>>(
    `SELECT id, task_identifier, queue_name, key, attempts, max_attempts, run_at, locked_at, left(last_error, 200) AS last_error
       FROM graphile_worker.jobs
      WHERE NOT (key IS NULL AND attempts >= max_attempts AND task_identifier IN ('sync-calendar', 'write-booking'))
      ORDER BY id`,
  );
  for (const j of jobs.rows) out.push(`   job ${JSON.stringify(j)}`);
  const queues = await world.db.query<Record<string, unknown>>(
    `SELECT queue_name, locked_at, locked_by FROM graphile_worker._private_job_queues WHERE locked_at IS NOT NULL`,
  );
  for (const q of queues.rows) out.push(`   locked queue ${JSON.stringify(q)}`);
  const byBooking = new Map<number | undefined, Mismatch[]>();
  for (const m of checks.mismatches) byBooking.set(m.booking, [...(byBooking.get(m.booking) ?? []), m]);
  for (const [index, list] of byBooking) {
    if (index === undefined) {
      out.push('\n── calendar-level mismatches');
      for (const m of list) out.push(`   ✗ ${m.rule}: expected ${m.expected}; actual ${m.actual}`);
      continue;
    }
    const booking = world.bookings[index];
    const host = world.hosts[booking.host];
    const view: BookingView | undefined = checks.views.get(index);
    out.push(
      `\n── booking ${booking.id} (schedule #${index}, ${host.provider} host ${host.index} ${host.email}, uid ${booking.uid})`,
    );
    for (const m of list) out.push(`   ✗ ${m.rule}: expected ${m.expected}; actual ${m.actual}`);
    const ops = world.ops.filter((o) => o.booking === index);
    const times = ops.map((o) => o.start).filter((x) => Number.isFinite(x));
    const from = Math.min(...times, Infinity) - 1500;
    const to = Math.max(...times, -Infinity) + 4000;
    out.push('   timeline (run time, wall clock):');
    const around = world.ops.filter(
      (o) =>
        o.booking === index ||
        ((o.kind === 'kill' || o.kind === 'restart' || o.kind === 'fault' || o.kind === 'fault-end') &&
          o.start >= from &&
          o.start <= to),
    );
    for (const o of around) {
      const when = `${fmtT(o.start).padStart(9)} ${world.wall(o.start).slice(11, 23)}`;
      const span = o.kind.startsWith('api') && Number.isFinite(o.start) ? `–${fmtT(o.end)}` : '';
      out.push(
        `     ${when}${span} #${o.seq} ${o.kind}${o.instance ? ` [${o.instance}]` : ''} ${o.outcome}${o.status ? ` ${o.status}` : ''}${o.detail ? ` ${o.detail}` : ''}`,
      );
    }
    if (view) {
      out.push('   history:');
      for (const h of view.history) out.push(`     ${h.at.slice(11, 23)} ${h.action} ${h.source} ${JSON.stringify(h.changes)}`);
      out.push(
        `   booking now: ${view.status} ${view.startTime}–${view.endTime} "${view.title}" [${view.attendees.map((a) => a.email).join(', ')}] ref ${view.references[0]?.externalEventId ?? 'none'}`,
      );
    }
    if (booking.id !== undefined) {
      const outbox = await world.db.query<{
        id: string;
        kind: string;
        source: string;
        payload: unknown;
        detectedAt: Date;
        appliedAt: Date | null;
        outcome: string | null;
      }>(
        `SELECT "id"::text, "kind", "source", "payload", "detectedAt", "appliedAt", "outcome" FROM "ExternalEventChange" WHERE "bookingId" = $1 ORDER BY "id"`,
        [booking.id],
      );
      if (outbox.rows.length) out.push('   outbox (ExternalEventChange):');
      for (const r of outbox.rows) {
        out.push(
          `     ${r.id} ${r.kind} ${r.source} detected ${r.detectedAt.toISOString().slice(11, 23)} applied ${r.appliedAt?.toISOString().slice(11, 23) ?? '—'} ${r.outcome ?? ''} ${JSON.stringify(r.payload)}`,
        );
      }
      const ref = await world.db.query<{ externalEventId: string; deletedAt: Date | null; baseline: unknown }>(
        `SELECT "externalEventId", "deletedAt", "baseline" FROM "BookingReference" WHERE "bookingId" = $1`,
        [booking.id],
      );
      for (const r of ref.rows)
        out.push(
          `   reference: ${r.externalEventId}${r.deletedAt ? ` deleted ${r.deletedAt.toISOString()}` : ''} baseline ${JSON.stringify(r.baseline)}`,
        );
    }
    for (const e of world.eventsOf(booking)) {
      out.push(
        `   event now: ${e.id} ${e.startTime}–${e.endTime} "${e.title}" [${e.guests.join(', ')}]${e.recurring ? ' (series)' : ''}`,
      );
    }
  }
  return out.join('\n');
}
