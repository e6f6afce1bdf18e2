import type { CalendarState, EventStore, StoredEvent } from './event-store.js';
import { overlapsWindow } from './event-store.js';
import { formatInstant } from './time.js';
import type { BusyInterval, GoogleEvent } from './types.js';

/**
 * Busy time of one calendar in [fromMs, toMs): confirmed/tentative, opaque events the owner has not declined,
 * series expanded, clipped to the window, sorted, and merged when they overlap or touch. All-day events
 * cover their dates from UTC midnight to UTC midnight (Google would use the calendar's zone).
 */
export function busyIntervals(store: EventStore, cal: CalendarState, fromMs: number, toMs: number): BusyInterval[] {
  const spans: Array<[number, number]> = [];
  const window = { fromMs, toMs };
  const add = (ev: GoogleEvent, startMs: number, endMs: number): void => {
    if (!isBusy(ev, cal)) return;
    const s = Math.max(startMs, fromMs);
    const e = Math.min(endMs, toMs);
    if (e > s) spans.push([s, e]);
  };
  for (const rec of cal.order) {
    if (rec.master) continue; // listed through its master's expansion
    if (!overlapsWindow(rec.startMs, rec.lastEndMs, window)) continue;
    if (rec.series) {
      for (const inst of store.expandSeries(rec, window, false)) add(inst.ev, inst.startMs, inst.endMs);
    } else if (!isCancelled(rec)) {
      add(rec.ev, rec.startMs, rec.endMs);
    }
  }
  spans.sort((a, b) => a[0] - b[0]);
  const merged: Array<[number, number]> = [];
  for (const span of spans) {
    const last = merged[merged.length - 1];
    if (last && span[0] <= last[1]) last[1] = Math.max(last[1], span[1]);
    else merged.push([span[0], span[1]]);
  }
  return merged.map(([s, e]) => ({ start: formatInstant(s), end: formatInstant(e) }));
}

function isCancelled(rec: StoredEvent): boolean {
  return rec.ev.status === 'cancelled';
}

function isBusy(ev: GoogleEvent, cal: CalendarState): boolean {
  if (ev.status === 'cancelled' || ev.transparency === 'transparent') return false;
  const me = ev.attendees?.find((a) => a.self || cal.isSelf(a.email));
  return me?.responseStatus !== 'declined';
}
