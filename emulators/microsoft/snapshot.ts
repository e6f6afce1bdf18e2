import type { AuthSnapshot, AuthState } from './auth.js';
import type { CalendarState, EventStore, StoredEvent } from './event-store.js';
import type { Subscription } from './subscriptions.js';

/**
 * The whole emulator state as plain JSON: accounts and tokens, calendars with their events (tombstones and
 * change logs included, so delta links stay valid across a restore), subscriptions, and the counters.
 * Logs (calls, notifications) and fault switches are not state and stay out.
 */

export interface EmulatorSnapshot {
  format: 'calsync-microsoft-graph-emulator-state';
  version: 1;
  tenantId: string;
  epoch: string;
  auth: AuthSnapshot;
  calendars: Array<Omit<CalendarState, 'events'> & { events: StoredEvent[] }>;
  subscriptions: Array<Omit<Subscription, 'changeTypes'> & { changeTypes: string[] }>;
}

export function takeSnapshot(
  tenantId: string,
  store: EventStore,
  auth: AuthState,
  subscriptions: Map<string, Subscription>,
): EmulatorSnapshot {
  return structuredClone({
    format: 'calsync-microsoft-graph-emulator-state',
    version: 1,
    tenantId,
    epoch: store.epoch,
    auth: auth.snapshot(),
    calendars: [...store.calendars.values()].map((cal) => ({ ...cal, events: [...cal.events.values()] })),
    subscriptions: [...subscriptions.values()],
  });
}

/** Replaces the state in place (the objects that hold it are shared with the HTTP layer). */
export function applySnapshot(
  snapshot: EmulatorSnapshot,
  store: EventStore,
  auth: AuthState,
  subscriptions: Map<string, Subscription>,
): void {
  if (!snapshot || snapshot.format !== 'calsync-microsoft-graph-emulator-state' || snapshot.version !== 1) {
    throw new Error('not a Microsoft emulator snapshot (format calsync-microsoft-graph-emulator-state, version 1)');
  }
  const s = structuredClone(snapshot);
  auth.restore(s.auth);
  store.reset();
  store.epoch = s.epoch;
  for (const { events, ...cal } of s.calendars) {
    const state: CalendarState = { ...cal, events: new Map(events.map((e) => [e.id, e])) };
    store.calendars.set(state.id, state);
    for (const e of events) store.eventCalendar.set(e.id, state.id);
  }
  subscriptions.clear();
  for (const sub of s.subscriptions) subscriptions.set(sub.id, sub as Subscription);
}
