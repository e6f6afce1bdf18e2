import type { ExternalEvent } from '../../providers/external-event.js';
import { detectChanges } from './detect-changes.js';
import { type EventBaseline, baselineOf } from './event-baseline.js';

function event(overrides: Partial<ExternalEvent> = {}): ExternalEvent {
  return {
    id: 'evt1',
    iCalUID: 'uid@calsync',
    status: 'confirmed',
    removal: null,
    start: new Date('2026-12-01T10:00:00.000Z'),
    end: new Date('2026-12-01T10:30:00.000Z'),
    isAllDay: false,
    startDate: null,
    endDate: null,
    busy: true,
    title: 'Call',
    description: null,
    location: null,
    attendees: [
      { email: 'guest@example.com', name: 'Guest', responseStatus: 'needsAction', organizer: false, resource: false },
      { email: 'host@example.com', name: null, responseStatus: 'accepted', organizer: true, resource: false },
      { email: 'room@resource.example.com', name: 'Room', responseStatus: 'accepted', organizer: false, resource: true },
    ],
    organizerEmail: 'host@example.com',
    recurringEventId: null,
    etag: '"1"',
    updated: '2026-11-20T10:00:00.000Z',
    sequence: 0,
    ...overrides,
  };
}

describe('detectChanges', () => {
  const baseline: EventBaseline = baselineOf(event());

  it('keeps only guests in the baseline: not the organizer, not rooms', () => {
    expect(baseline.attendees).toEqual([{ email: 'guest@example.com', name: 'Guest' }]);
  });

  it('finds nothing in our own echo (same etag)', () => {
    expect(detectChanges(baseline, event({ title: 'changed but same etag' }))).toEqual({});
  });

  it('finds nothing when only unrelated fields changed', () => {
    expect(detectChanges(baseline, event({ etag: '"2"', updated: '2026-11-21T00:00:00.000Z' }))).toEqual({});
  });

  it('reports a move', () => {
    const moved = event({
      etag: '"2"',
      start: new Date('2026-12-01T12:00:00Z'),
      end: new Date('2026-12-01T13:00:00Z'),
      sequence: 1,
    });
    expect(detectChanges(baseline, moved)).toEqual({
      rescheduled: { startTime: '2026-12-01T12:00:00.000Z', endTime: '2026-12-01T13:00:00.000Z' },
    });
  });

  it('reports title, description and location changes, treating empty text as none', () => {
    expect(detectChanges(baseline, event({ etag: '"2"', title: 'New', description: '', location: 'Room 1' }))).toEqual({
      details: { title: 'New', location: 'Room 1' },
    });
  });

  it('reports guests added and removed, ignoring case and order', () => {
    const changed = event({
      etag: '"2"',
      attendees: [{ email: 'new@example.com', name: null, responseStatus: null, organizer: false, resource: false }],
    });
    expect(detectChanges(baseline, changed)).toEqual({ attendees: [{ email: 'new@example.com', name: null }] });
    const sameGuests = event({
      etag: '"3"',
      attendees: [{ email: 'GUEST@example.com', name: 'Guest', responseStatus: 'accepted', organizer: false, resource: false }],
    });
    expect(detectChanges(baseline, sameGuests)).toEqual({});
  });

  it('ignores a version older than the baseline (a stale or reordered read)', () => {
    const older = event({ etag: '"0"', updated: '2026-11-19T00:00:00.000Z', start: new Date('2026-12-02T10:00:00Z') });
    expect(detectChanges(baseline, older)).toEqual({ stale: true });
  });
});
