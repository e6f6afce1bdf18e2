import { fieldsToWrite } from './changed-fields.js';
import type { EventInput } from './external-event.js';

const input: EventInput = {
  title: 'Intro',
  description: 'Agenda',
  location: 'Room 4',
  start: new Date('2030-01-01T10:00:00Z'),
  end: new Date('2030-01-01T10:30:00Z'),
  attendees: [],
  timeZone: 'UTC',
};
const before = { title: 'Intro', description: 'Agenda', location: 'Room 4', start: input.start, end: input.end };

describe('fieldsToWrite', () => {
  it('writes everything without a version to compare with', () => {
    expect(fieldsToWrite(input, null)).toEqual({ title: true, description: true, location: true, times: true });
  });

  it('writes only what the input changes', () => {
    expect(fieldsToWrite(input, before)).toEqual({ title: false, description: false, location: false, times: false });
    expect(fieldsToWrite({ ...input, end: new Date('2030-01-01T11:00:00Z') }, before)).toEqual({
      title: false,
      description: false,
      location: false,
      times: true,
    });
    expect(fieldsToWrite({ ...input, title: 'Renamed', location: null }, before)).toEqual({
      title: true,
      description: false,
      location: true,
      times: false,
    });
  });

  it('takes an absent and an empty description or location for the same', () => {
    expect(fieldsToWrite({ ...input, description: null, location: '' }, { ...before, description: '', location: null })).toEqual({
      title: false,
      description: false,
      location: false,
      times: false,
    });
  });
});
