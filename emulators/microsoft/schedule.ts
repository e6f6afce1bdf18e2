import { badRequest } from './errors.js';
import type { EventStore, CalendarState, ViewItem } from './event-store.js';
import { formatFloating, parseBoundary, requireTimeZone, utcToFloating } from './time.js';
import type { ShowAs } from './types.js';

/**
 * POST /me/calendar/getSchedule: free/busy of mailboxes, from their default calendars. An item counts when
 * it is not free, not cancelled, and not declined by the calendar's owner. availabilityView has one digit per
 * interval (0 free or working elsewhere, 1 tentative, 2 busy, 3 out of office), the busiest item winning.
 */

const VIEW_DIGIT: Record<ShowAs, number> = { free: 0, workingElsewhere: 0, tentative: 1, busy: 2, unknown: 2, oof: 3 };

export interface ScheduleRequest {
  schedules: string[];
  fromMs: number;
  toMs: number;
  intervalMinutes: number;
}

export function parseScheduleRequest(body: Record<string, unknown>, defaultZone: string): ScheduleRequest {
  const { schedules, startTime, endTime } = body as {
    schedules?: unknown;
    startTime?: Record<string, unknown>;
    endTime?: Record<string, unknown>;
  };
  if (!Array.isArray(schedules) || schedules.length === 0 || !schedules.every((s) => typeof s === 'string')) {
    throw badRequest('schedules must be a non-empty array of SMTP addresses.', 'ErrorInvalidParameter');
  }
  if (schedules.length > 100) throw badRequest('At most 100 schedules can be requested at once.', 'ErrorInvalidParameter');
  const bound = (v: Record<string, unknown> | undefined, name: string): number => {
    if (!v || typeof v.dateTime !== 'string') throw badRequest(`${name} with a dateTime is required.`, 'ErrorInvalidParameter');
    const zone = typeof v.timeZone === 'string' && v.timeZone ? requireTimeZone(v.timeZone) : defaultZone;
    return parseBoundary(v.dateTime, name, zone);
  };
  const fromMs = bound(startTime, 'startTime');
  const toMs = bound(endTime, 'endTime');
  if (toMs <= fromMs) throw badRequest('The endTime must be after the startTime.', 'ErrorInvalidParameter');
  if (toMs - fromMs > 62 * 86_400_000)
    throw badRequest('The requested time range cannot exceed 62 days.', 'ErrorInvalidParameter');
  const interval = body.availabilityViewInterval === undefined ? 30 : Number(body.availabilityViewInterval);
  if (!Number.isInteger(interval) || interval < 5 || interval > 1440) {
    throw badRequest('availabilityViewInterval must be between 5 and 1440 minutes.', 'ErrorInvalidParameter');
  }
  return { schedules: schedules as string[], fromMs, toMs, intervalMinutes: interval };
}

/** The events of a calendar that make its owner unavailable in [fromMs, toMs). */
export function busyItems(store: EventStore, cal: CalendarState, fromMs: number, toMs: number): ViewItem[] {
  return store.view(cal, fromMs, toMs).filter((it) => {
    const f = it.rec.fields;
    return f.showAs !== 'free' && !f.isCancelled && f.responseStatus?.response !== 'declined';
  });
}

export function scheduleInformation(
  store: EventStore,
  scheduleId: string,
  cal: CalendarState | undefined,
  req: ScheduleRequest,
  out: { zoneName: string; zone: string },
  workingHoursZone: string,
): object {
  if (!cal) {
    return {
      scheduleId,
      availabilityView: '',
      scheduleItems: [],
      error: { message: `The requested user '${scheduleId}' is not found.`, responseCode: 'ErrorMailRecipientNotFound' },
    };
  }
  const items = busyItems(store, cal, req.fromMs, req.toMs);
  const slotMs = req.intervalMinutes * 60_000;
  const slots = Math.ceil((req.toMs - req.fromMs) / slotMs);
  let view = '';
  for (let s = 0; s < slots; s++) {
    const a = req.fromMs + s * slotMs;
    const b = Math.min(a + slotMs, req.toMs);
    let digit = 0;
    for (const it of items) if (it.startMs < b && it.endMs > a) digit = Math.max(digit, VIEW_DIGIT[it.rec.fields.showAs]);
    view += String(digit);
  }
  const wall = (ms: number): { dateTime: string; timeZone: string } => ({
    dateTime: formatFloating(utcToFloating(ms, out.zone)),
    timeZone: out.zoneName,
  });
  return {
    scheduleId,
    availabilityView: view,
    scheduleItems: items.map((it) => ({
      isPrivate: it.rec.fields.sensitivity === 'private',
      status: it.rec.fields.showAs,
      subject: it.rec.fields.subject,
      location: it.rec.fields.location.displayName,
      isMeeting: it.rec.fields.attendees.length > 0,
      isRecurring: it.occurrence !== undefined || it.rec.masterId !== undefined,
      isException: it.rec.masterId !== undefined,
      isReminderSet: it.rec.fields.isReminderOn,
      start: wall(it.startMs),
      end: wall(it.endMs),
    })),
    workingHours: {
      daysOfWeek: ['monday', 'tuesday', 'wednesday', 'thursday', 'friday'],
      startTime: '08:00:00.0000000',
      endTime: '17:00:00.0000000',
      timeZone: { name: workingHoursZone },
    },
  };
}
