import { fromGoogleEvent, googleEventIdFor, toGoogleEventBody } from './google-event.mapper.js';

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
