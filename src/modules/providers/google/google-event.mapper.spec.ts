import type { calendar_v3 } from 'googleapis/build/src/apis/calendar/index.js';
import { parseFieldSelection, selectFields } from '../../../../emulators/google/partial-response.js';
import { GOOGLE_EVENT_FIELDS, fromGoogleEvent, googleEventIdFor, toGoogleEventBody } from './google-event.mapper.js';

describe('fromGoogleEvent', () => {
  const timed = {
    id: 'evt1',
    iCalUID: 'uid@calsync',
    status: 'confirmed',
    etag: '"1"',
    updated: '2026-12-01T10:00:00.000Z',
    sequence: 2,
    summary: 'Call',
    description: 'Agenda',
    location: 'Room 1',
    start: { dateTime: '2026-12-03T11:00:00+01:00', timeZone: 'Europe/Berlin' },
    end: { dateTime: '2026-12-03T11:30:00+01:00', timeZone: 'Europe/Berlin' },
    organizer: { email: 'Host@Example.com' },
    attendees: [
      { email: 'Host@Example.com', organizer: true, self: true, responseStatus: 'accepted' },
      { email: 'Guest@Example.com', displayName: 'Guest', responseStatus: 'needsAction' },
      { email: 'room@resource.example.com', resource: true },
    ],
  };

  it('maps a timed event to UTC instants and lower-case emails', () => {
    expect(fromGoogleEvent(timed)).toEqual({
      id: 'evt1',
      iCalUID: 'uid@calsync',
      status: 'confirmed',
      removal: null,
      start: new Date('2026-12-03T10:00:00.000Z'),
      end: new Date('2026-12-03T10:30:00.000Z'),
      isAllDay: false,
      startDate: null,
      endDate: null,
      busy: true,
      title: 'Call',
      description: 'Agenda',
      location: 'Room 1',
      attendees: [
        { email: 'host@example.com', name: null, responseStatus: 'accepted', organizer: true, resource: false },
        { email: 'guest@example.com', name: 'Guest', responseStatus: 'needsAction', organizer: false, resource: false },
        { email: 'room@resource.example.com', name: null, responseStatus: null, organizer: false, resource: true },
      ],
      organizerEmail: 'host@example.com',
      recurringEventId: null,
      recurring: false,
      etag: '"1"',
      updated: '2026-12-01T10:00:00.000Z',
      sequence: 2,
    });
  });

  it('keeps all-day events as dates (end exclusive)', () => {
    const event = fromGoogleEvent({ id: 'a', start: { date: '2026-12-24' }, end: { date: '2026-12-26' } });
    expect(event).toMatchObject({ isAllDay: true, startDate: '2026-12-24', endDate: '2026-12-26', busy: true });
    expect(event.start?.toISOString()).toBe('2026-12-24T00:00:00.000Z');
  });

  it.each([
    ['transparent (free)', { transparency: 'transparent' }],
    ['declined by the calendar’s owner', { attendees: [{ email: 'me@example.com', self: true, responseStatus: 'declined' }] }],
    ['cancelled', { status: 'cancelled' }],
  ])('does not count %s as busy', (_label, extra) => {
    expect(fromGoogleEvent({ ...timed, ...extra }).busy).toBe(false);
  });

  it('counts an invitation declined by another guest as busy', () => {
    expect(fromGoogleEvent({ ...timed, attendees: [{ email: 'other@example.com', responseStatus: 'declined' }] }).busy).toBe(
      true,
    );
  });

  it('tells a series master (it carries the recurrence) from its instances', () => {
    expect(fromGoogleEvent({ ...timed, recurrence: ['RRULE:FREQ=DAILY;COUNT=3'] })).toMatchObject({
      recurring: true,
      recurringEventId: null,
    });
    expect(fromGoogleEvent({ ...timed, id: 'evt1_20261203T100000Z', recurringEventId: 'evt1' })).toMatchObject({
      recurring: false,
      recurringEventId: 'evt1',
    });
  });

  it('reads a cancelled entry of a change listing as a deletion', () => {
    expect(fromGoogleEvent({ id: 'gone', status: 'cancelled' })).toMatchObject({
      status: 'cancelled',
      removal: 'deleted',
      start: null,
    });
  });
});

describe('GOOGLE_EVENT_FIELDS', () => {
  /** Events as Google answers them in full, each with what the mapper reads set to something that matters. */
  const whole: calendar_v3.Schema$Event[] = [
    {
      kind: 'calendar#event',
      etag: '"3181161784712000"',
      id: 'evt1_20261203T100000Z',
      status: 'confirmed',
      htmlLink: 'https://www.google.com/calendar/event?eid=ZXZ0MQ',
      created: '2026-11-01T09:00:00.000Z',
      updated: '2026-12-01T10:00:00.000Z',
      summary: 'Weekly call',
      description: 'Agenda',
      location: 'Room 1',
      colorId: '3',
      creator: { email: 'assistant@example.com', displayName: 'Assistant' },
      organizer: { email: 'Host@Example.com', displayName: 'Host', self: true },
      start: { dateTime: '2026-12-03T11:00:00+01:00', timeZone: 'Europe/Berlin' },
      end: { dateTime: '2026-12-03T11:30:00+01:00', timeZone: 'Europe/Berlin' },
      recurringEventId: 'evt1',
      originalStartTime: { dateTime: '2026-12-03T11:00:00+01:00', timeZone: 'Europe/Berlin' },
      transparency: 'opaque',
      visibility: 'private',
      iCalUID: 'uid@calsync',
      sequence: 4,
      attendees: [
        { email: 'Host@Example.com', organizer: true, self: true, responseStatus: 'declined', comment: 'away' },
        { email: 'Guest@Example.com', displayName: 'Guest', responseStatus: 'tentative', additionalGuests: 1 },
        { email: 'room@resource.example.com', resource: true, responseStatus: 'accepted' },
      ],
      hangoutLink: 'https://meet.google.com/abc-defg-hij',
      conferenceData: {
        conferenceId: 'abc-defg-hij',
        entryPoints: [{ entryPointType: 'video', uri: 'https://meet.google.com/abc' }],
      },
      reminders: { useDefault: false, overrides: [{ method: 'popup', minutes: 10 }] },
      extendedProperties: { private: { bookingUid: 'b1' } },
      attachments: [{ fileUrl: 'https://drive.google.com/x', title: 'Notes' }],
      eventType: 'default',
    },
    {
      kind: 'calendar#event',
      etag: '"1"',
      id: 'series',
      status: 'tentative',
      summary: 'All-day, free',
      start: { date: '2026-12-24' },
      end: { date: '2026-12-26' },
      transparency: 'transparent',
      recurrence: ['RRULE:FREQ=YEARLY'],
      organizer: { email: 'other@example.com' },
      iCalUID: 'series@google.com',
    },
    { kind: 'calendar#event', etag: '"2"', id: 'gone', status: 'cancelled' },
  ];

  it('selects everything the mapper reads: each event maps the same from the partial answer as from the whole one', () => {
    const selection = parseFieldSelection(GOOGLE_EVENT_FIELDS);
    for (const event of whole) {
      const partial = selectFields(event, selection) as calendar_v3.Schema$Event;
      expect(fromGoogleEvent(partial)).toEqual(fromGoogleEvent(event));
    }
    // And it leaves out what the mapper does not read.
    const partial = selectFields(whole[0], selection) as Record<string, unknown>;
    for (const dropped of ['htmlLink', 'creator', 'conferenceData', 'reminders', 'attachments', 'extendedProperties']) {
      expect(partial).not.toHaveProperty(dropped);
    }
  });
});

describe('toGoogleEventBody', () => {
  it('writes instants with the host’s zone and the guests', () => {
    expect(
      toGoogleEventBody({
        title: 'Call',
        description: null,
        location: null,
        start: new Date('2026-12-03T10:00:00.000Z'),
        end: new Date('2026-12-03T10:30:00.000Z'),
        attendees: [
          { email: 'guest@example.com', name: 'Guest' },
          { email: 'other@example.com', name: null },
        ],
        timeZone: 'Europe/Berlin',
      }),
    ).toEqual({
      summary: 'Call',
      description: '',
      location: '',
      start: { dateTime: '2026-12-03T10:00:00.000Z', timeZone: 'Europe/Berlin' },
      end: { dateTime: '2026-12-03T10:30:00.000Z', timeZone: 'Europe/Berlin' },
      attendees: [{ email: 'guest@example.com', displayName: 'Guest' }, { email: 'other@example.com' }],
    });
  });
});

describe('googleEventIdFor', () => {
  it('makes a valid base32hex id from a booking uid, the same every time', () => {
    const id = googleEventIdFor('3F2B9C1E-77AA-4D0E-9B1F-0C5E2A8D7F60');
    expect(id).toMatch(/^[a-v0-9]{5,1024}$/);
    expect(googleEventIdFor('3F2B9C1E-77AA-4D0E-9B1F-0C5E2A8D7F60')).toBe(id);
  });
});
