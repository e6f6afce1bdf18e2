import type { EventInput, ExternalEvent } from '../external-event.js';
import {
  busyIntervals,
  eventMatchesInput,
  fromGraphEvent,
  graphDateTimeToDate,
  graphTime,
  graphTimes,
  htmlToText,
  removedGraphEvent,
  toGraphEventBody,
  type GraphEvent,
} from './graph-event.mapper.js';

const meeting: GraphEvent = {
  id: 'AAMkAD=',
  '@odata.etag': 'W/"EZ9r3czxY0m2jz8c45czkwAAFXcvIQ=="',
  changeKey: 'EZ9r3czxY0m2jz8c45czkwAAFXcvIQ==',
  iCalUId: '040000008200E00074C5B7101A82E008000000',
  subject: 'Planning',
  body: { contentType: 'text', content: 'Agenda:\nbudget' },
  location: { displayName: 'Room 1' },
  start: { dateTime: '2026-12-01T10:00:00.0000000', timeZone: 'UTC' },
  end: { dateTime: '2026-12-01T10:30:00.0000000', timeZone: 'UTC' },
  isAllDay: false,
  isCancelled: false,
  showAs: 'busy',
  type: 'singleInstance',
  responseStatus: { response: 'organizer' },
  attendees: [
    { type: 'required', status: { response: 'accepted' }, emailAddress: { name: 'Bob', address: 'Bob@Example.com' } },
    { type: 'resource', status: { response: 'none' }, emailAddress: { name: 'Room 1', address: 'room1@example.com' } },
    { type: 'optional', status: { response: 'none' }, emailAddress: { name: 'No address' } },
  ],
  organizer: { emailAddress: { name: 'Alice', address: 'Alice@Example.com' } },
  lastModifiedDateTime: '2026-11-20T08:00:00.1234567Z',
};

describe('fromGraphEvent', () => {
  it('maps a timed meeting, reading dateTime without an offset as UTC', () => {
    const event = fromGraphEvent(meeting);
    expect(event).toEqual<ExternalEvent>({
      id: 'AAMkAD=',
      iCalUID: '040000008200E00074C5B7101A82E008000000',
      status: 'confirmed',
      removal: null,
      start: new Date('2026-12-01T10:00:00.000Z'),
      end: new Date('2026-12-01T10:30:00.000Z'),
      isAllDay: false,
      startDate: null,
      endDate: null,
      busy: true,
      title: 'Planning',
      description: 'Agenda:\nbudget',
      location: 'Room 1',
      attendees: [
        { email: 'bob@example.com', name: 'Bob', responseStatus: 'accepted', organizer: false, resource: false },
        { email: 'room1@example.com', name: 'Room 1', responseStatus: 'none', organizer: false, resource: true },
      ],
      organizerEmail: 'alice@example.com',
      recurringEventId: null,
      recurring: false,
      etag: 'W/"EZ9r3czxY0m2jz8c45czkwAAFXcvIQ=="',
      updated: '2026-11-20T08:00:00.1234567Z',
      sequence: null,
    });
  });

  it('maps an all-day event to its dates (end exclusive) and UTC midnights', () => {
    const event = fromGraphEvent({
      ...meeting,
      isAllDay: true,
      start: { dateTime: '2026-12-24T00:00:00.0000000', timeZone: 'UTC' },
      end: { dateTime: '2026-12-26T00:00:00.0000000', timeZone: 'UTC' },
    });
    expect(event).toMatchObject({
      isAllDay: true,
      startDate: '2026-12-24',
      endDate: '2026-12-26',
      start: new Date('2026-12-24T00:00:00.000Z'),
      end: new Date('2026-12-26T00:00:00.000Z'),
    });
  });

  it('keeps the dates of an all-day event stated in another zone', () => {
    const event = fromGraphEvent({
      ...meeting,
      isAllDay: true,
      start: { dateTime: '2026-07-04T00:00:00.0000000', timeZone: 'Pacific Standard Time' },
      end: { dateTime: '2026-07-05T00:00:00.0000000', timeZone: 'Pacific Standard Time' },
    });
    expect([event.startDate, event.endDate]).toEqual(['2026-07-04', '2026-07-05']);
    expect(event.start?.toISOString()).toBe('2026-07-04T00:00:00.000Z');
  });

  it.each<[string, Partial<GraphEvent>, boolean, ExternalEvent['status']]>([
    ['busy', { showAs: 'busy' }, true, 'confirmed'],
    ['out of office', { showAs: 'oof' }, true, 'confirmed'],
    ['tentative', { showAs: 'tentative' }, true, 'tentative'],
    ['unknown', { showAs: 'unknown' }, true, 'confirmed'],
    ['free', { showAs: 'free' }, false, 'confirmed'],
    ['working elsewhere', { showAs: 'workingElsewhere' }, false, 'confirmed'],
    ['declined by the owner', { showAs: 'busy', responseStatus: { response: 'declined' } }, false, 'confirmed'],
    [
      'tentatively accepted by the owner',
      { showAs: 'tentative', responseStatus: { response: 'tentativelyAccepted' } },
      true,
      'tentative',
    ],
    ['cancelled', { showAs: 'busy', isCancelled: true }, false, 'cancelled'],
  ])('%s → busy %s, status %s', (_label, patch, busy, status) => {
    const event = fromGraphEvent({ ...meeting, ...patch });
    expect(event.busy).toBe(busy);
    expect(event.status).toBe(status);
  });

  it('gives a cancelled event a removal reason only in a change listing', () => {
    expect(fromGraphEvent({ ...meeting, isCancelled: true }).removal).toBeNull();
    expect(fromGraphEvent({ ...meeting, isCancelled: true }, { listing: true }).removal).toBe('deleted');
    expect(fromGraphEvent(meeting, { listing: true }).removal).toBeNull();
  });

  it('maps a delta @removed entry to a cancelled event of unknown removal', () => {
    const event = fromGraphEvent({ id: 'gone-1', '@removed': { reason: 'deleted' } }, { listing: true });
    expect(event).toEqual(removedGraphEvent('gone-1'));
    expect(event).toMatchObject({ id: 'gone-1', status: 'cancelled', removal: 'unknown', start: null, end: null, busy: false });
  });

  it('turns an HTML body into text', () => {
    const event = fromGraphEvent({
      ...meeting,
      body: {
        contentType: 'html',
        content:
          '<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8"><style>p{margin:0}</style></head>' +
          '<body><div>Agenda &amp; notes</div><p>Line&nbsp;two<br>Line three &lt;ok&gt; &#233;&#x20AC;</p><!-- hidden --></body></html>',
      },
    });
    expect(event.description).toBe('Agenda & notes\nLine two\nLine three <ok> é€');
  });

  it('maps an empty body, a missing location and a missing organizer to null', () => {
    const event = fromGraphEvent({
      ...meeting,
      body: { contentType: 'html', content: '' },
      location: { displayName: '' },
      organizer: null,
    });
    expect([event.description, event.location, event.organizerEmail]).toEqual([null, null, null]);
  });

  it('falls back to changeKey for the etag and carries the series master id', () => {
    const event = fromGraphEvent({ ...meeting, '@odata.etag': undefined, type: 'occurrence', seriesMasterId: 'master-1' });
    expect(event.etag).toBe(meeting.changeKey);
    expect(event.recurringEventId).toBe('master-1');
    expect(event.recurring).toBe(false);
    expect(fromGraphEvent({ ...meeting, type: 'seriesMaster' }).recurring).toBe(true);
  });
});

describe('graphDateTimeToDate', () => {
  it.each([
    [{ dateTime: '2026-03-29T01:30:00.0000000', timeZone: 'UTC' }, '2026-03-29T01:30:00.000Z'],
    [{ dateTime: '2026-03-29T01:30:00.1234567', timeZone: 'utc' }, '2026-03-29T01:30:00.123Z'],
    [{ dateTime: '2026-03-29T01:30:00', timeZone: null }, '2026-03-29T01:30:00.000Z'],
    [{ dateTime: '2026-03-29T01:30:00Z', timeZone: 'Europe/Paris' }, '2026-03-29T01:30:00.000Z'],
    [{ dateTime: '2026-03-29T03:30:00+02:00' }, '2026-03-29T01:30:00.000Z'],
    // IANA zones are converted, across DST: Paris is UTC+1 before 29 March 2026 02:00, UTC+2 after.
    [{ dateTime: '2026-03-28T10:00:00.0000000', timeZone: 'Europe/Paris' }, '2026-03-28T09:00:00.000Z'],
    [{ dateTime: '2026-03-30T10:00:00.0000000', timeZone: 'Europe/Paris' }, '2026-03-30T08:00:00.000Z'],
    [{ dateTime: '2026-07-01T09:00:00.0000000', timeZone: 'America/New_York' }, '2026-07-01T13:00:00.000Z'],
    // Windows names (Graph's own, in any case) are read with their reference zone's rules.
    [{ dateTime: '2026-07-01T09:00:00.0000000', timeZone: 'Eastern Standard Time' }, '2026-07-01T13:00:00.000Z'],
    [{ dateTime: '2026-03-30T10:00:00.0000000', timeZone: 'romance standard time' }, '2026-03-30T08:00:00.000Z'],
    [{ dateTime: '2026-01-10T10:00:00.0000000', timeZone: 'India Standard Time' }, '2026-01-10T04:30:00.000Z'],
    [{ dateTime: '2026-01-10T10:00:00.0000000', timeZone: 'Nowhere Standard Time' }, '2026-01-10T10:00:00.000Z'],
  ])('%j → %s', (value, expected) => {
    expect(graphDateTimeToDate(value)?.toISOString()).toBe(expected);
  });

  it('answers null for nothing or garbage', () => {
    expect(graphDateTimeToDate(undefined)).toBeNull();
    expect(graphDateTimeToDate({ dateTime: '' })).toBeNull();
    expect(graphDateTimeToDate({ dateTime: 'tomorrow', timeZone: 'UTC' })).toBeNull();
  });
});

describe('toGraphEventBody', () => {
  const input: EventInput = {
    title: 'Intro call',
    description: null,
    location: null,
    start: new Date('2026-12-01T10:00:00.000Z'),
    end: new Date('2026-12-01T10:45:00.000Z'),
    attendees: [
      { email: 'bob@example.com', name: 'Bob' },
      { email: 'carol@example.com', name: null },
    ],
    timeZone: 'Europe/Paris',
  };

  it('writes the host’s wall-clock times in the host’s zone under its Windows name, and text bodies', () => {
    expect(toGraphEventBody(input)).toEqual({
      subject: 'Intro call',
      body: { contentType: 'text', content: '' },
      location: { displayName: '' },
      start: { dateTime: '2026-12-01T11:00:00.000', timeZone: 'Romance Standard Time' },
      end: { dateTime: '2026-12-01T11:45:00.000', timeZone: 'Romance Standard Time' },
      attendees: [
        { emailAddress: { address: 'bob@example.com', name: 'Bob' }, type: 'required' },
        { emailAddress: { address: 'carol@example.com' }, type: 'required' },
      ],
    });
  });

  it('writes UTC near a daylight-saving change of the zone (a wall-clock time there may name two instants), and for an unknown zone', () => {
    // Paris moves from +01:00 to +02:00 at 2026-03-29T01:00Z.
    expect(graphTime(new Date('2026-03-29T02:30:00.000Z'), 'Europe/Paris')).toEqual({
      dateTime: '2026-03-29T02:30:00.000',
      timeZone: 'UTC',
    });
    expect(graphTime(new Date('2026-03-29T06:00:00.000Z'), 'Europe/Paris')).toEqual({
      dateTime: '2026-03-29T08:00:00.000',
      timeZone: 'Romance Standard Time',
    });
    expect(graphTime(new Date('2026-10-25T00:30:00.000Z'), 'Europe/Paris').timeZone).toBe('UTC');
    expect(graphTime(new Date('2026-12-01T10:00:00.000Z'), 'Mars/Olympus')).toEqual({
      dateTime: '2026-12-01T10:00:00.000',
      timeZone: 'UTC',
    });
    expect(graphTime(new Date('2026-12-01T10:00:00.000Z'), 'UTC').timeZone).toBe('UTC');
    expect(graphTime(new Date('2026-12-01T10:00:00.000Z'), 'Etc/UTC').timeZone).toBe('UTC');
  });

  it('names a zone by its Windows name only where that zone’s rules are the host zone’s, else writes UTC', () => {
    const at = new Date('2026-07-01T10:00:00.000Z');
    expect(graphTime(at, 'Asia/Calcutta')).toEqual({ dateTime: '2026-07-01T15:30:00.000', timeZone: 'India Standard Time' });
    expect(graphTime(at, 'Asia/Kolkata')).toEqual({ dateTime: '2026-07-01T15:30:00.000', timeZone: 'India Standard Time' });
    expect(graphTime(at, 'America/Los_Angeles')).toEqual({
      dateTime: '2026-07-01T03:00:00.000',
      timeZone: 'Pacific Standard Time',
    });
    // Bishkek (+06:00) maps to Central Asia Standard Time, whose reference zone Almaty is +05:00 since 2024.
    expect(graphTime(at, 'Asia/Bishkek')).toEqual({ dateTime: '2026-07-01T10:00:00.000', timeZone: 'UTC' });
    // Ciudad Juárez has no Windows zone in the mapping.
    expect(graphTime(at, 'America/Ciudad_Juarez')).toEqual({ dateTime: '2026-07-01T10:00:00.000', timeZone: 'UTC' });
  });

  it('writes start and end in one zone: both in UTC when either is near an offset change, or the zone is one to write in UTC', () => {
    // Paris moves to +02:00 at 2026-03-29T01:00Z: the start is far enough before, the end is not.
    expect(graphTimes(new Date('2026-03-28T20:00:00.000Z'), new Date('2026-03-28T23:30:00.000Z'), 'Europe/Paris')).toEqual({
      start: { dateTime: '2026-03-28T20:00:00.000', timeZone: 'UTC' },
      end: { dateTime: '2026-03-28T23:30:00.000', timeZone: 'UTC' },
    });
    const start = new Date('2026-07-01T10:00:00.000Z');
    const end = new Date('2026-07-01T10:30:00.000Z');
    expect(graphTimes(start, end, 'Europe/Paris')).toEqual({
      start: { dateTime: '2026-07-01T12:00:00.000', timeZone: 'Romance Standard Time' },
      end: { dateTime: '2026-07-01T12:30:00.000', timeZone: 'Romance Standard Time' },
    });
    expect(graphTimes(start, end, 'Europe/Paris', { utcZones: new Set(['Romance Standard Time']) })).toEqual({
      start: { dateTime: '2026-07-01T10:00:00.000', timeZone: 'UTC' },
      end: { dateTime: '2026-07-01T10:30:00.000', timeZone: 'UTC' },
    });
  });

  it('reads back as the instants it was given, in any zone and across the year (round trip)', () => {
    for (const zone of [
      'Europe/Paris',
      'America/New_York',
      'Asia/Kolkata',
      'Australia/Lord_Howe',
      'Asia/Bishkek',
      'America/Mazatlan',
      'UTC',
    ]) {
      for (let day = 0; day < 365; day += 3) {
        for (const hour of [0, 1, 2, 3, 7, 13, 23]) {
          const at = new Date(Date.UTC(2026, 0, 1 + day, hour, 30));
          expect({ zone, at: graphDateTimeToDate(graphTime(at, zone))?.toISOString() }).toEqual({ zone, at: at.toISOString() });
        }
      }
    }
  });

  it('reads back as the instants it was given (round trip)', () => {
    const body = toGraphEventBody({ ...input, description: 'Hello', location: 'Online' });
    const event = fromGraphEvent({ ...body, id: 'x', attendees: body.attendees });
    expect(event.start).toEqual(input.start);
    expect(event.end).toEqual(input.end);
    expect(eventMatchesInput(event, { ...input, description: 'Hello', location: 'Online' })).toBe(true);
  });

  it('tells an event made from another input apart', () => {
    const event = fromGraphEvent({ ...toGraphEventBody(input), id: 'x' });
    expect(eventMatchesInput(event, input)).toBe(true);
    expect(eventMatchesInput(event, { ...input, title: 'Renamed' })).toBe(false);
    expect(eventMatchesInput(event, { ...input, end: new Date('2026-12-01T11:00:00.000Z') })).toBe(false);
    expect(eventMatchesInput(event, { ...input, attendees: [{ email: 'bob@example.com', name: 'Bob' }] })).toBe(false);
    expect(eventMatchesInput(event, { ...input, description: 'New notes' })).toBe(false);
  });
});

describe('busyIntervals', () => {
  const at = (iso: string) => new Date(iso);
  const busy = (start: string, end: string, isBusy = true): ExternalEvent => ({
    ...removedGraphEvent('x'),
    status: 'confirmed',
    removal: null,
    start: at(start),
    end: at(end),
    busy: isBusy,
  });

  it('keeps busy events, merges overlapping and touching ones, clips to the range', () => {
    const range = { start: at('2026-12-01T08:00:00Z'), end: at('2026-12-01T18:00:00Z') };
    const intervals = busyIntervals(
      [
        busy('2026-12-01T13:00:00Z', '2026-12-01T14:00:00Z'),
        busy('2026-12-01T07:00:00Z', '2026-12-01T09:00:00Z'),
        busy('2026-12-01T08:30:00Z', '2026-12-01T10:00:00Z'),
        busy('2026-12-01T10:00:00Z', '2026-12-01T10:30:00Z'),
        busy('2026-12-01T11:00:00Z', '2026-12-01T12:00:00Z', false),
        busy('2026-12-01T17:30:00Z', '2026-12-01T20:00:00Z'),
        busy('2026-12-01T19:00:00Z', '2026-12-01T20:00:00Z'),
      ],
      range,
    );
    expect(intervals.map((i) => [i.start.toISOString(), i.end.toISOString()])).toEqual([
      ['2026-12-01T08:00:00.000Z', '2026-12-01T10:30:00.000Z'],
      ['2026-12-01T13:00:00.000Z', '2026-12-01T14:00:00.000Z'],
      ['2026-12-01T17:30:00.000Z', '2026-12-01T18:00:00.000Z'],
    ]);
  });
});

describe('busyIntervals for all-day events', () => {
  const allDay = (startDate: string, endDate: string): ExternalEvent => ({
    ...removedGraphEvent('a'),
    status: 'confirmed',
    removal: null,
    isAllDay: true,
    startDate,
    endDate,
    start: new Date(`${startDate}T00:00:00.000Z`),
    end: new Date(`${endDate}T00:00:00.000Z`),
    busy: true,
  });
  const range = { start: new Date('2026-12-01T00:00:00Z'), end: new Date('2026-12-05T00:00:00Z') };

  it('covers the dates in the user’s zone', () => {
    const [interval] = busyIntervals([allDay('2026-12-02', '2026-12-03')], { ...range, timeZone: 'America/New_York' });
    expect([interval.start.toISOString(), interval.end.toISOString()]).toEqual([
      '2026-12-02T05:00:00.000Z',
      '2026-12-03T05:00:00.000Z',
    ]);
  });

  it('keeps UTC midnights without a zone', () => {
    const [interval] = busyIntervals([allDay('2026-12-02', '2026-12-03')], range);
    expect([interval.start.toISOString(), interval.end.toISOString()]).toEqual([
      '2026-12-02T00:00:00.000Z',
      '2026-12-03T00:00:00.000Z',
    ]);
  });
});

describe('htmlToText', () => {
  it('leaves unknown entities and plain text alone', () => {
    expect(htmlToText('a &unknown; b')).toBe('a &unknown; b');
    expect(htmlToText('plain')).toBe('plain');
    expect(htmlToText('&amp;lt;')).toBe('&lt;');
  });
});
