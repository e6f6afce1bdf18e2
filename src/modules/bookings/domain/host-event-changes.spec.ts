import type { BookingView } from '../booking-view.js';
import { fieldChanges } from './host-event-changes.js';

const booking: Omit<BookingView, 'history'> = {
  id: 1,
  uid: 'u',
  userId: 2,
  title: 'Call',
  description: null,
  location: null,
  startTime: '2030-01-07T12:00:00.000Z',
  endTime: '2030-01-07T12:30:00.000Z',
  status: 'accepted',
  cancellationReason: null,
  conflict: false,
  pendingChange: null,
  attendees: [
    { email: 'a@example.com', name: null },
    { email: 'c@example.com', name: null },
  ],
  references: [],
  createdAt: '2030-01-01T00:00:00.000Z',
  updatedAt: '2030-01-01T00:00:00.000Z',
};

describe('fieldChanges: history changes as {field: {from, to}}', () => {
  it('created: the times, from nothing', () => {
    expect(fieldChanges('created', { startTime: booking.startTime, endTime: booking.endTime }, booking)).toEqual({
      startTime: { from: null, to: booking.startTime },
      endTime: { from: null, to: booking.endTime },
    });
  });

  it('rescheduled: each time that moved', () => {
    const changes = {
      from: { startTime: '2030-01-07T10:00:00.000Z', endTime: '2030-01-07T12:30:00.000Z' },
      to: { startTime: '2030-01-07T12:00:00.000Z', endTime: '2030-01-07T12:30:00.000Z' },
    };
    expect(fieldChanges('rescheduled', changes, booking)).toEqual({
      startTime: { from: '2030-01-07T10:00:00.000Z', to: '2030-01-07T12:00:00.000Z' },
    });
  });

  it('cancelled: status and reason', () => {
    expect(fieldChanges('cancelled', { reason: 'gone' }, booking)).toEqual({
      status: { from: 'accepted', to: 'cancelled' },
      cancellationReason: { from: null, to: 'gone' },
    });
  });

  it('updated: details as they are, attendees as the list before and after', () => {
    expect(fieldChanges('updated', { title: { from: 'Old', to: 'Call' } }, booking)).toEqual({
      title: { from: 'Old', to: 'Call' },
    });
    expect(fieldChanges('updated', { attendees: { added: ['c@example.com'], removed: ['b@example.com'] } }, booking)).toEqual({
      attendees: { from: ['a@example.com', 'b@example.com'], to: ['a@example.com', 'c@example.com'] },
    });
  });

  it('an action the host is not told about changes nothing', () => {
    expect(fieldChanges('ignored', { anything: 1 }, booking)).toEqual({});
  });
});
