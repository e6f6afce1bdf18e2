import { Prng } from './prng.js';

/**
 * The chaos schedule, drawn entirely from the seed before anything runs: what happens, to which
 * booking, and when (milliseconds after the chaos phase starts). Booking times are stored relative to
 * the run's day (`Slot`), so a replay on another day runs the same schedule. What the service does in
 * between is not deterministic (processes race), but the schedule is: a failing seed replays the same
 * sequence of edits, API calls, faults and kills at the same moments.
 */

export type ProviderKind = 'google' | 'outlook';
export type InstanceName = 'A' | 'B';

export interface Slot {
  /** Days after the run's day (UTC midnight). */
  day: number;
  /** Minutes after midnight UTC. */
  minute: number;
  /** Length in minutes. */
  length: number;
}

export interface Guest {
  email: string;
  name: string;
}

export type FaultSpec =
  | { kind: 'drop'; n: number }
  | { kind: 'duplicate'; n: number; copies: number }
  | { kind: 'hold'; forMs: number; reverse: boolean }
  | { kind: 'delay'; ms: number; forMs: number }
  | { kind: 'fail'; status: 429 | 500 | 503; count: number; operation: OperationKind }
  | { kind: 'hang'; ms: number; count: number; operation: OperationKind }
  | { kind: 'shuffle'; forMs: number };

/** Provider operations a fault can target, named independently of the provider. */
export type OperationKind = 'list' | 'get' | 'create' | 'update' | 'delete' | 'token' | 'any';

export type ScheduledOp =
  | { at: number; kind: 'host-move'; booking: number; slot: Slot }
  | { at: number; kind: 'host-rename'; booking: number; title: string }
  | { at: number; kind: 'host-guests'; booking: number; guests: Guest[] }
  | { at: number; kind: 'host-delete'; booking: number }
  | { at: number; kind: 'host-recurring'; booking: number }
  | { at: number; kind: 'api-reschedule'; booking: number; slot: Slot }
  | { at: number; kind: 'api-cancel'; booking: number }
  | { at: number; kind: 'api-create'; booking: number; host: number; slot: Slot; title: string; guests: Guest[] }
  | { at: number; kind: 'fault'; provider: ProviderKind; fault: FaultSpec }
  | { at: number; kind: 'kill'; target: InstanceName | 'both'; downMs: number };

export type OpKind = ScheduledOp['kind'];

export interface ScheduleOptions {
  seed: number;
  durationMs: number;
  kills: number;
  googleHosts: number;
  outlookHosts: number;
  bookingsPerHost: number;
  /** Host edits per second (on average), race partners not included. */
  editsPerSecond: number;
  /** API reschedules, cancels and creates per second (on average). */
  apiPerSecond: number;
  /** A fault every this many seconds (on average). */
  faultEverySeconds: number;
}

export interface InitialBooking {
  index: number;
  host: number;
  slot: Slot;
  title: string;
  guests: Guest[];
}

export interface Schedule {
  hosts: Array<{ index: number; provider: ProviderKind }>;
  initial: InitialBooking[];
  ops: ScheduledOp[];
}

export const GUESTS: Guest[] = Array.from({ length: 8 }, (_, i) => ({
  email: `guest${i + 1}@chaos.example.com`,
  name: `Guest ${i + 1}`,
}));

/** How long after an `api-create` the schedule may start touching the new booking. */
const CREATE_SETTLE_MS = 3000;

export function slotTimes(baseDayMs: number, slot: Slot): { startTime: string; endTime: string } {
  const start = baseDayMs + slot.day * 86_400_000 + slot.minute * 60_000;
  return { startTime: new Date(start).toISOString(), endTime: new Date(start + slot.length * 60_000).toISOString() };
}

function randomSlot(rng: Prng): Slot {
  return { day: rng.int(2, 25), minute: rng.int(12, 40) * 30, length: rng.pick([30, 45, 60, 90]) };
}

function randomGuests(rng: Prng): Guest[] {
  return rng.sample(GUESTS, rng.int(0, 3)).sort((a, b) => a.email.localeCompare(b.email));
}

function exponential(rng: Prng, mean: number): number {
  return -Math.log(1 - rng.next()) * mean;
}

export function buildSchedule(o: ScheduleOptions): Schedule {
  const rng = Prng.stream(o.seed, 'schedule');
  const hosts = [
    ...Array.from({ length: o.googleHosts }, () => 'google' as const),
    ...Array.from({ length: o.outlookHosts }, () => 'outlook' as const),
  ].map((provider, index) => ({ index, provider }));

  const initial: InitialBooking[] = [];
  for (const host of hosts) {
    for (let i = 0; i < o.bookingsPerHost; i++) {
      initial.push({
        index: initial.length,
        host: host.index,
        slot: randomSlot(rng),
        title: `Chaos ${initial.length}`,
        guests: randomGuests(rng),
      });
    }
  }

  /** What the generator knows of each booking, to aim ops at ones that still exist. */
  interface Model {
    from: number;
    cancelledAt: number;
    recurring: boolean;
  }
  const model: Model[] = initial.map(() => ({ from: 0, cancelledAt: Infinity, recurring: false }));
  const live = (at: number) => model.map((m, i) => ({ m, i })).filter(({ m }) => m.from <= at && m.cancelledAt > at);

  const ops: ScheduledOp[] = [];
  let renames = 0;

  const hostEdit = (
    at: number,
    booking: number,
    kinds: Record<'move' | 'rename' | 'guests' | 'delete' | 'recurring', number>,
  ) => {
    const m = model[booking];
    const choice = m.recurring ? 'delete' : rng.weighted(kinds);
    switch (choice) {
      case 'move':
        ops.push({ at, kind: 'host-move', booking, slot: randomSlot(rng) });
        return;
      case 'rename':
        ops.push({ at, kind: 'host-rename', booking, title: `Renamed ${++renames}` });
        return;
      case 'guests':
        ops.push({ at, kind: 'host-guests', booking, guests: randomGuests(rng) });
        return;
      case 'delete':
        ops.push({ at, kind: 'host-delete', booking });
        m.cancelledAt = Math.min(m.cancelledAt, at);
        return;
      case 'recurring':
        ops.push({ at, kind: 'host-recurring', booking });
        m.recurring = true;
        return;
    }
  };

  // Host edits (some followed closely by a second edit of the same event) and API calls (a third of
  // them racing a host edit of the same booking), drawn in time order, so that each draw knows which
  // bookings are cancelled or deleted by then.
  const editGap = () => exponential(rng, 1000 / o.editsPerSecond);
  const apiGap = () => exponential(rng, 1000 / o.apiPerSecond);
  let nextEdit = editGap();
  let nextApi = apiGap();
  while (Math.min(nextEdit, nextApi) < o.durationMs) {
    if (nextEdit <= nextApi) {
      const at = nextEdit;
      nextEdit += editGap();
      const candidates = live(at);
      if (candidates.length === 0) continue;
      const { i } = rng.pick(candidates);
      hostEdit(Math.round(at), i, { move: 45, rename: 15, guests: 15, delete: 3, recurring: 3 });
      if (rng.chance(0.15) && model[i].cancelledAt > at) {
        hostEdit(Math.round(at + rng.int(30, 400)), i, { move: 50, rename: 25, guests: 25, delete: 0, recurring: 0 });
      }
      continue;
    }
    const t = Math.round(nextApi);
    nextApi += apiGap();
    const kind = rng.weighted({ reschedule: 76, cancel: 6, create: 18 });
    if (kind === 'create') {
      const booking = model.length;
      model.push({ from: t + CREATE_SETTLE_MS, cancelledAt: Infinity, recurring: false });
      ops.push({
        at: t,
        kind: 'api-create',
        booking,
        host: rng.int(0, hosts.length - 1),
        slot: randomSlot(rng),
        title: `Chaos ${booking}`,
        guests: randomGuests(rng),
      });
      continue;
    }
    const candidates = live(t);
    if (candidates.length === 0) continue;
    const { i } = rng.pick(candidates);
    const racing = rng.chance(0.35);
    const offset = rng.int(-250, 350);
    if (kind === 'cancel') {
      ops.push({ at: t, kind: 'api-cancel', booking: i });
    } else {
      ops.push({ at: t, kind: 'api-reschedule', booking: i, slot: randomSlot(rng) });
    }
    if (racing && t + offset > 0) hostEdit(t + offset, i, { move: 55, rename: 20, guests: 20, delete: 3, recurring: 0 });
    if (kind === 'cancel') model[i].cancelledAt = Math.min(model[i].cancelledAt, t);
  }

  // Faults, each provider in turn picked at random.
  for (
    let at = exponential(rng, o.faultEverySeconds * 1000);
    at < o.durationMs;
    at += exponential(rng, o.faultEverySeconds * 1000)
  ) {
    const provider: ProviderKind = rng.chance(0.5) ? 'google' : 'outlook';
    ops.push({ at: Math.round(at), kind: 'fault', provider, fault: randomFault(rng, provider) });
  }

  // kill -9: spread over the run, jittered, never in its last tenth (so restarts settle before quiescence).
  const span = o.durationMs * 0.9;
  for (let k = 0; k < o.kills; k++) {
    const slotLength = span / o.kills;
    const at = Math.round(slotLength * k + slotLength * (0.15 + 0.7 * rng.next()));
    const roll = rng.next();
    const target = roll < 0.15 ? 'both' : roll < 0.575 ? 'A' : 'B';
    ops.push({ at, kind: 'kill', target, downMs: rng.int(200, 3000) });
  }

  ops.sort((a, b) => a.at - b.at);
  return { hosts, initial, ops };
}

function randomFault(rng: Prng, provider: ProviderKind): FaultSpec {
  const kind = rng.weighted({
    drop: 16,
    duplicate: 14,
    hold: 14,
    delay: 10,
    fail: 26,
    hang: 12,
    shuffle: provider === 'outlook' ? 8 : 0,
  });
  const operation = (): OperationKind =>
    rng.weighted({ list: 40, update: 18, create: 10, get: 10, delete: 8, token: 4, any: 10 });
  switch (kind) {
    case 'drop':
      return { kind, n: rng.int(1, 3) };
    case 'duplicate':
      return { kind, n: rng.int(1, 3), copies: rng.int(2, 3) };
    case 'hold':
      return { kind, forMs: rng.int(300, 3000), reverse: rng.chance(0.6) };
    case 'delay':
      return { kind, ms: rng.int(200, 2500), forMs: rng.int(1000, 5000) };
    case 'fail':
      return { kind, status: rng.pick([429, 500, 503] as const), count: rng.int(1, 6), operation: operation() };
    case 'hang':
      // Beyond the instances' provider timeout most of the time: a hung response, not a slow one.
      return {
        kind,
        ms: rng.chance(0.75) ? rng.int(3500, 7000) : rng.int(500, 2500),
        count: rng.int(1, 2),
        operation: operation(),
      };
    case 'shuffle':
    default:
      return { kind: 'shuffle', forMs: rng.int(2000, 8000) };
  }
}
