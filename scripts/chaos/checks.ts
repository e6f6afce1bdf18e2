import { googleEventIdFor } from '../../src/modules/providers/google/google-event.mapper.js';
import type { ProviderKind } from './schedule.js';
import type { BookingRecord, BookingView, CalendarEvent, OpRecord, Value, World } from './world.js';

/**
 * The rules a booking and its calendar event must satisfy once the run is at rest (also written in the
 * header of scripts/chaos.ts and the README's "Chaos run" section):
 *
 * 1. Booking ↔ event. An accepted booking has exactly one live event in its host's calendar (Google:
 *    the id the uid gives, `googleEventIdFor`; Outlook: transactionId `<uid>`; a series counts once), its reference points
 *    at it, and the event has the booking's start, end, title and guests (attendees minus the organizer).
 *    A cancelled booking has no live event.
 * 2. Last writer wins, per field group (times, title, guests). Every change is an op with a time: a host
 *    edit happens at the instant the emulator applied it; an API change somewhere between its request and
 *    its answer (an API call without an answer, or answered 5xx, may or may not have happened, at any time
 *    after its request). The booking's value must be the value of an op no definite op started after the
 *    end of (so with concurrent writers either may win, with a later one only it may). Making the event
 *    recurring keeps the booking's times (the series' first occurrence is the booking).
 * 3. Cancellation is final, from either side: a booking with a cancel answered 2xx, or whose live event
 *    the host deleted, is cancelled; one without any (possible) cancel or deletion is not.
 * 4. History, each change exactly once: it starts with one `created`; `cancelled` at most once and last;
 *    each `rescheduled` goes from the previous times to new ones (the chain ends at the booking's times),
 *    title and guest changes likewise; no entry repeats the one before it; every API change answered 2xx
 *    that showed a history entry has exactly that entry; no source has more entries of a kind than the
 *    run made changes of that kind (a host edit recorded twice is a duplicate).
 * 5. Nothing left behind: every outbox row (ExternalEventChange) applied, no duplicate events in a
 *    calendar, no calsync event without a booking.
 * (Rule 6, what the host is told, is checked in host-side.ts.)
 */

export interface Mismatch {
  booking?: number;
  bookingId?: number;
  provider?: ProviderKind;
  rule: string;
  expected: string;
  actual: string;
}

export interface ChannelCheck {
  calendars: number;
  withOneLiveChannel: number;
  problems: string[];
}

export interface CheckReport {
  bookingsChecked: number;
  accepted: number;
  cancelled: number;
  mismatches: Mismatch[];
  channels: ChannelCheck;
  views: Map<number, BookingView>;
}

type Group = 'times' | 'title' | 'attendees';

interface Candidate {
  op: OpRecord;
  value: Value;
  definite: boolean;
}

function valueKey(v: Value): string {
  switch (v.group) {
    case 'times':
      return `${v.startTime}–${v.endTime}`;
    case 'title':
      return JSON.stringify(v.title);
    case 'attendees':
      return `[${[...v.emails]
        .map((e) => e.toLowerCase())
        .sort()
        .join(', ')}]`;
    default:
      return v.group;
  }
}

/** The values a field group may end with under "last writer wins" (rule 2). */
export function acceptableValues(ops: OpRecord[], group: Group): { keys: Set<string>; candidates: Candidate[] } {
  const candidates: Candidate[] = [];
  for (const op of ops) {
    if (op.outcome !== 'ok' && op.outcome !== 'indeterminate') continue;
    for (const value of op.values ?? []) {
      if (value.group === group) candidates.push({ op, value, definite: op.outcome === 'ok' });
    }
  }
  const survivors = candidates.filter((c) => !candidates.some((d) => d.definite && d.op.start > c.op.end));
  return { keys: new Set(survivors.map((c) => valueKey(c.value))), candidates: survivors };
}

function describeCandidates(cands: Candidate[]): string {
  return cands
    .map(
      (c) =>
        `${valueKey(c.value)} (#${c.op.seq} ${c.op.kind}${c.op.outcome === 'indeterminate' ? ', unanswered' : ''} at ${fmtT(c.op.start)})`,
    )
    .join(' or ');
}

export function fmtT(ms: number): string {
  if (ms === -Infinity) return 'set-up';
  if (ms === Infinity) return '∞';
  return `${(ms / 1000).toFixed(3)}s`;
}

export async function checkAll(world: World): Promise<CheckReport> {
  const mismatches: Mismatch[] = [];
  const views = new Map<number, BookingView>();
  // Creates whose answer was lost: find the booking if it exists.
  for (const b of world.bookings) {
    if (b && b.id === undefined && b.createIndeterminate) {
      const { rows } = await world.db.query<{ id: number; uid: string }>(
        `SELECT "id", "uid" FROM "Booking" WHERE "description" = $1`,
        [b.description],
      );
      if (rows[0]) {
        b.id = rows[0].id;
        b.uid = rows[0].uid;
      }
    }
  }
  const outbox = await world.db.query<{ bookingId: number; id: string; kind: string; appliedAt: Date | null }>(
    `SELECT "bookingId", "id"::text, "kind", "appliedAt" FROM "ExternalEventChange" WHERE "appliedAt" IS NULL`,
  );
  let accepted = 0;
  let cancelled = 0;
  let checked = 0;
  for (const booking of world.bookings) {
    if (!booking || booking.id === undefined) continue;
    checked += 1;
    const view = await world.call<BookingView>('GET', `/api/v1/bookings/${booking.id}`);
    views.set(booking.index, view);
    if (view.status === 'cancelled') cancelled += 1;
    else accepted += 1;
    const provider = world.hosts[booking.host].provider;
    const add = (rule: string, expected: string, actual: string) =>
      mismatches.push({ booking: booking.index, bookingId: booking.id, provider, rule, expected, actual });
    checkBooking(world, booking, view, add);
    for (const row of outbox.rows.filter((r) => r.bookingId === booking.id)) {
      add('outbox row applied', `ExternalEventChange ${row.id} (${row.kind}) applied`, 'never applied');
    }
  }
  // Calendar level: calsync's events that belong to no known booking.
  // A Google event is calsync's when its id is a booking uid's (a UUID without its hyphens: 32 hex
  // digits); the emulator gives the events it makes itself 26 base32hex characters.
  const uidsKnown = world.bookings.filter((b) => b?.uid).map((b) => b.uid as string);
  const known = new Set([...uidsKnown, ...uidsKnown.map(googleEventIdFor)]);
  for (const host of world.hosts) {
    const uids =
      host.provider === 'google'
        ? world.emulators.google
            .listEvents(host.calendarId)
            .filter((e) => /^[0-9a-f]{32}$/.test(e.id) && !e.recurringEventId)
            .map((e) => e.id)
        : world.emulators.microsoft
            .listEvents(host.calendarId)
            .filter((e) => e.transactionId && e.type !== 'exception' && e.type !== 'occurrence')
            .map((e) => e.transactionId as string);
    for (const uid of uids) {
      if (!known.has(uid)) {
        mismatches.push({
          provider: host.provider,
          rule: 'no event without a booking',
          expected: 'none',
          actual: `event for unknown booking uid ${uid} in ${host.email}`,
        });
      }
    }
  }
  return { bookingsChecked: checked, accepted, cancelled, mismatches, channels: await checkChannels(world), views };
}

function checkBooking(
  world: World,
  booking: BookingRecord,
  view: BookingView,
  add: (rule: string, expected: string, actual: string) => void,
): void {
  const ops = world.ops.filter((o) => o.booking === booking.index);
  const applied = ops.filter((o) => o.outcome === 'ok' || o.outcome === 'indeterminate');
  const definiteCancel = applied.find((o) => o.outcome === 'ok' && o.values?.some((v) => v.group === 'status'));
  const possibleCancel = applied.some((o) => o.values?.some((v) => v.group === 'status'));
  const events = world.eventsOf(booking);

  // Rule 3: cancellation is final.
  if (view.status === 'cancelled' && !possibleCancel) {
    add(
      'cancelled only by a cancel or a deletion',
      'accepted (nobody cancelled it or deleted its event)',
      `cancelled: "${view.cancellationReason}"`,
    );
  }
  if (view.status !== 'cancelled' && definiteCancel) {
    add(
      'cancellation is final',
      `cancelled (#${definiteCancel.seq} ${definiteCancel.kind} at ${fmtT(definiteCancel.start)})`,
      view.status,
    );
  }

  if (view.status === 'cancelled') {
    if (events.length > 0)
      add(
        'cancelled booking has no event',
        'no live event',
        `${events.length} live event(s): ${events.map((e) => e.id).join(', ')}`,
      );
  } else {
    // Rule 1: booking ↔ event.
    if (events.length === 0) add('accepted booking has its event', '1 live event', 'none in the calendar');
    if (events.length > 1) add('no duplicate events', '1 live event', `${events.length}: ${events.map((e) => e.id).join(', ')}`);
    const ref = view.references[0];
    const event: CalendarEvent | undefined = events.find((e) => e.id === ref?.externalEventId) ?? events[0];
    if (!ref) add('accepted booking has a reference', 'a reference to its event', 'none');
    else if (event && ref.externalEventId !== event.id) add('reference points at the event', event.id, ref.externalEventId);
    if (event) {
      if (event.startTime !== view.startTime || event.endTime !== view.endTime) {
        add(
          'booking = event (times)',
          `${view.startTime}–${view.endTime} (booking)`,
          `${event.startTime}–${event.endTime} (event${event.recurring ? ', series' : ''})`,
        );
      }
      if (event.title !== view.title) add('booking = event (title)', JSON.stringify(view.title), JSON.stringify(event.title));
      const attendees = view.attendees.map((a) => a.email.toLowerCase()).sort();
      if (attendees.join(',') !== event.guests.join(','))
        add('booking = event (guests)', `[${attendees.join(', ')}]`, `[${event.guests.join(', ')}]`);
    }
    // Rule 2: last writer wins.
    const actual: Record<Group, Value> = {
      times: { group: 'times', startTime: view.startTime, endTime: view.endTime },
      title: { group: 'title', title: view.title },
      attendees: { group: 'attendees', emails: view.attendees.map((a) => a.email) },
    };
    for (const group of ['times', 'title', 'attendees'] as const) {
      const { keys, candidates } = acceptableValues(ops, group);
      if (keys.size > 0 && !keys.has(valueKey(actual[group]))) {
        add(`last writer wins (${group})`, describeCandidates(candidates), valueKey(actual[group]));
      }
    }
  }

  // Rule 4: the history.
  const history = view.history;
  if (history.length === 0 || history[0].action !== 'created')
    add('history starts with created', 'created', history[0]?.action ?? 'empty');
  if (history.filter((h) => h.action === 'created').length > 1)
    add('created once', '1', String(history.filter((h) => h.action === 'created').length));
  const cancels = history.filter((h) => h.action === 'cancelled');
  if (cancels.length > 1)
    add('cancelled once', '1 cancelled entry', `${cancels.length}: ${cancels.map((h) => `${h.source} at ${h.at}`).join(', ')}`);
  if (view.status === 'cancelled' && history.at(-1)?.action !== 'cancelled')
    add('cancelled is the last entry', 'cancelled last', history.at(-1)?.action ?? 'none');
  if (view.status !== 'cancelled' && cancels.length > 0)
    add('no cancelled entry on an accepted booking', 'none', `${cancels.length}`);
  for (let i = 1; i < history.length; i++) {
    const a = history[i - 1];
    const b = history[i];
    if (a.action === b.action && a.source === b.source && JSON.stringify(a.changes) === JSON.stringify(b.changes)) {
      add(
        'no entry repeats the one before',
        'distinct consecutive entries',
        `#${i - 1} and #${i}: ${b.action} ${b.source} ${JSON.stringify(b.changes)}`,
      );
    }
  }
  checkChains(ops, view, add);
  // Every acknowledged API change is in the history exactly once.
  for (const op of ops) {
    if (op.outcome !== 'ok' || !op.historyAt || op.kind === 'setup-create' || op.kind === 'api-create') continue;
    const action = op.kind === 'api-reschedule' ? 'rescheduled' : 'cancelled';
    const n = history.filter((h) => h.at === op.historyAt && h.source === 'api' && h.action === action).length;
    if (n !== 1) add('acknowledged API change in the history once', `1 entry (${action} at ${op.historyAt}, #${op.seq})`, `${n}`);
  }
  // No more entries of a kind than changes of that kind were made.
  const count = (pred: (h: BookingView['history'][number]) => boolean) => history.filter(pred).length;
  const made = (kind: string) =>
    ops.filter((o) => o.kind === kind && (o.outcome === 'ok' || o.outcome === 'indeterminate')).length;
  const fromCalendar = (h: BookingView['history'][number]) => h.source !== 'api';
  const limits: Array<[string, number, number]> = [
    ['calendar reschedules ≤ host moves', count((h) => fromCalendar(h) && h.action === 'rescheduled'), made('host-move')],
    [
      'calendar renames ≤ host renames',
      count((h) => fromCalendar(h) && h.action === 'updated' && 'title' in h.changes),
      made('host-rename'),
    ],
    [
      'calendar guest changes ≤ host guest edits',
      count((h) => fromCalendar(h) && h.action === 'updated' && 'attendees' in h.changes),
      made('host-guests'),
    ],
    ['calendar cancellations ≤ host deletions', count((h) => fromCalendar(h) && h.action === 'cancelled'), made('host-delete')],
    [
      'API reschedules ≤ reschedule calls',
      count((h) => h.source === 'api' && h.action === 'rescheduled'),
      made('api-reschedule'),
    ],
    ['API cancellations ≤ cancel calls', count((h) => h.source === 'api' && h.action === 'cancelled'), made('api-cancel')],
  ];
  for (const [rule, n, limit] of limits) if (n > limit) add(rule, `≤ ${limit}`, `${n}`);
}

/** Each change goes from the previous value to a new one, and the chain ends at the booking's value. */
function checkChains(ops: OpRecord[], view: BookingView, add: (rule: string, expected: string, actual: string) => void): void {
  const created = ops.find((o) => o.kind === 'setup-create' || o.kind === 'api-create');
  const first = view.history[0];
  const c = (first?.changes ?? {}) as { startTime?: string; endTime?: string };
  let times = c.startTime ? `${c.startTime}–${c.endTime}` : undefined;
  let title = (created?.values?.find((v) => v.group === 'title') as { title: string } | undefined)?.title;
  const guests = new Set(
    ((created?.values?.find((v) => v.group === 'attendees') as { emails: string[] } | undefined)?.emails ?? []).map((e) =>
      e.toLowerCase(),
    ),
  );
  const knownGuests = created !== undefined;
  view.history.forEach((h, i) => {
    if (h.action === 'rescheduled') {
      const ch = h.changes as { from?: { startTime: string; endTime: string }; to?: { startTime: string; endTime: string } };
      const from = ch.from ? `${ch.from.startTime}–${ch.from.endTime}` : '?';
      const to = ch.to ? `${ch.to.startTime}–${ch.to.endTime}` : '?';
      if (times !== undefined && from !== times)
        add('history chain (times)', `entry #${i} from ${times}`, `from ${from} (${h.source})`);
      if (from === to) add('history chain (times)', `entry #${i} changes the times`, `from = to = ${to}`);
      times = to;
    }
    if (h.action === 'updated') {
      const ch = h.changes as { title?: { from: string; to: string }; attendees?: { added: string[]; removed: string[] } };
      if (ch.title) {
        if (title !== undefined && ch.title.from !== title)
          add(
            'history chain (title)',
            `entry #${i} from ${JSON.stringify(title)}`,
            `from ${JSON.stringify(ch.title.from)} (${h.source})`,
          );
        title = ch.title.to;
      }
      if (ch.attendees && knownGuests) {
        for (const e of ch.attendees.added) {
          if (guests.has(e.toLowerCase()))
            add('history chain (guests)', `entry #${i} adds a new guest`, `${e} was already there (${h.source})`);
          guests.add(e.toLowerCase());
        }
        for (const e of ch.attendees.removed) {
          if (!guests.has(e.toLowerCase()))
            add('history chain (guests)', `entry #${i} removes a guest`, `${e} was not there (${h.source})`);
          guests.delete(e.toLowerCase());
        }
      }
    }
  });
  if (times !== undefined && times !== `${view.startTime}–${view.endTime}`)
    add('history chain ends at the booking (times)', times, `${view.startTime}–${view.endTime}`);
  if (title !== undefined && title !== view.title)
    add('history chain ends at the booking (title)', JSON.stringify(title), JSON.stringify(view.title));
  if (knownGuests) {
    const final = view.attendees
      .map((a) => a.email.toLowerCase())
      .sort()
      .join(', ');
    const chained = [...guests].sort().join(', ');
    if (final !== chained) add('history chain ends at the booking (guests)', `[${chained}]`, `[${final}]`);
  }
}

/** Each followed calendar with a channel has exactly one live channel at the provider: the one stored. */
export async function checkChannels(world: World): Promise<ChannelCheck> {
  const { rows } = await world.db.query<{ id: number; integration: string; externalId: string; channelId: string | null }>(
    `SELECT "id", "integration", "externalId", "channelId" FROM "SelectedCalendar" ORDER BY "id"`,
  );
  const problems: string[] = [];
  let ok = 0;
  const subs = world.emulators.microsoft.subscriptions().filter((s) => !s.expired);
  for (const row of rows) {
    const live =
      row.integration === 'google_calendar'
        ? world.emulators.google.liveChannels(row.externalId).map((c) => c.id)
        : subs.filter((s) => s.calendarIds.includes(row.externalId)).map((s) => s.id);
    if (row.channelId === null) {
      problems.push(`calendar ${row.id} (${row.integration}) has no channel stored; ${live.length} live at the provider`);
    } else if (live.length !== 1 || live[0] !== row.channelId) {
      problems.push(
        `calendar ${row.id} (${row.integration}): ${live.length} live channel(s) [${live.join(', ')}], stored ${row.channelId}`,
      );
    } else ok += 1;
  }
  return { calendars: rows.length, withOneLiveChannel: ok, problems };
}
