import { type TestApp, createTestApp } from '../support/create-test-app.js';
import { expectEventually } from '../support/expect-eventually.js';
import { googleEventIdFor } from '../../src/modules/providers/google/google-event.mapper.js';
import { connectGoogleHost, slot } from '../support/fixtures.js';

describe('Bookings write through to the host’s Google calendar', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('creates the event with the booking’s times, title and attendees, then moves and deletes it', async () => {
    const host = await connectGoogleHost(t);
    const when = slot(3);
    const created = await t.api
      .post('/api/v1/bookings')
      .send({
        userId: host.userId,
        title: 'Intro call',
        description: 'Agenda: intros',
        location: 'Zoom',
        ...when,
        attendees: [{ email: 'Guest@Example.com', name: 'Guest One' }, { email: 'second@example.com' }],
      })
      .expect(201);
    expect(created.body).toMatchObject({
      userId: host.userId,
      title: 'Intro call',
      status: 'accepted',
      startTime: when.startTime,
      endTime: when.endTime,
      attendees: [
        { email: 'guest@example.com', name: 'Guest One' },
        { email: 'second@example.com', name: null },
      ],
      history: [{ action: 'created', source: 'api' }],
    });
    const bookingId = created.body.id as number;

    const reference = await expectEventually(async () => {
      const res = await t.api.get(`/api/v1/bookings/${bookingId}`).expect(200);
      expect(res.body.references).toHaveLength(1);
      return res.body.references[0] as { externalEventId: string; externalCalendarId: string; iCalUID: string };
    });
    expect(reference).toMatchObject({ provider: 'google_calendar', externalCalendarId: host.calendarId });
    // The event's id comes from the booking's uid (a retried insert is refused as a duplicate), and
    // calsync supplies no iCalUID beside it: the reference carries the one Google gave the event.
    expect(reference.externalEventId).toBe(googleEventIdFor(created.body.uid));
    expect(reference.iCalUID).toBe(`${reference.externalEventId}@google.com`);

    const event = t.google.getEvent(host.calendarId, reference.externalEventId);
    expect(event).toBeDefined();
    expect(new Date(event!.start.dateTime!).toISOString()).toBe(when.startTime);
    expect(new Date(event!.end.dateTime!).toISOString()).toBe(when.endTime);
    expect(event!.summary).toBe('Intro call');
    expect(event!.description).toBe('Agenda: intros');
    expect(event!.location).toBe('Zoom');
    expect((event!.attendees ?? []).map((a: { email: string }) => a.email).sort()).toEqual([
      'guest@example.com',
      'second@example.com',
    ]);

    const moved = slot(4, 14, 45);
    const rescheduled = await t.api.post(`/api/v1/bookings/${bookingId}/reschedule`).send(moved).expect(200);
    expect(rescheduled.body).toMatchObject({ ...moved, status: 'accepted' });
    expect(rescheduled.body.history.map((h: { action: string }) => h.action)).toEqual(['created', 'rescheduled']);
    await expectEventually(() => {
      const now = t.google.getEvent(host.calendarId, reference.externalEventId)!;
      expect(new Date(now.start.dateTime!).toISOString()).toBe(moved.startTime);
      expect(new Date(now.end.dateTime!).toISOString()).toBe(moved.endTime);
    });

    const cancelled = await t.api.post(`/api/v1/bookings/${bookingId}/cancel`).send({ reason: 'Host is ill' }).expect(200);
    expect(cancelled.body).toMatchObject({ status: 'cancelled', cancellationReason: 'Host is ill' });
    await expectEventually(() => {
      expect(t.google.getEvent(host.calendarId, reference.externalEventId)?.status).toBe('cancelled');
    });
  });

  it('rescheduling to the same times or cancelling twice changes nothing', async () => {
    const host = await connectGoogleHost(t);
    const when = slot(5);
    const { body } = await t.api
      .post('/api/v1/bookings')
      .send({ userId: host.userId, title: 'Sync', ...when, attendees: [] })
      .expect(201);
    await t.api.post(`/api/v1/bookings/${body.id}/reschedule`).send(when).expect(200);
    await t.api.post(`/api/v1/bookings/${body.id}/cancel`).send({}).expect(200);
    const again = await t.api.post(`/api/v1/bookings/${body.id}/cancel`).send({ reason: 'again' }).expect(200);
    expect(again.body.history.map((h: { action: string }) => h.action)).toEqual(['created', 'cancelled']);
    expect(again.body.cancellationReason).toBeNull();
    await t.api.post(`/api/v1/bookings/${body.id}/reschedule`).send(slot(6)).expect(409);
  });

  it('still takes the booking while Google is down, and writes it once Google is back', async () => {
    const host = await connectGoogleHost(t);
    t.google.faults.failNext({ count: 6, operation: 'events.insert', status: 503, reason: 'backendError' });
    const { body } = await t.api
      .post('/api/v1/bookings')
      .send({ userId: host.userId, title: 'Resilient', ...slot(7), attendees: [] })
      .expect(201);
    expect(body.status).toBe('accepted');
    const ref = await expectEventually(
      async () => {
        const res = await t.api.get(`/api/v1/bookings/${body.id}`).expect(200);
        expect(res.body.references).toHaveLength(1);
        return res.body.references[0];
      },
      { timeoutMs: 25_000, intervalMs: 200 },
    );
    expect(t.google.listEvents(host.calendarId).filter((e) => e.summary === 'Resilient')).toHaveLength(1);
    expect(ref.externalCalendarId).toBe(host.calendarId);
  }, 40_000);

  it('lists bookings by user and status', async () => {
    const host = await connectGoogleHost(t);
    const a = await t.api
      .post('/api/v1/bookings')
      .send({ userId: host.userId, title: 'A', ...slot(8), attendees: [] })
      .expect(201);
    await t.api
      .post('/api/v1/bookings')
      .send({ userId: host.userId, title: 'B', ...slot(9), attendees: [] })
      .expect(201);
    await t.api.post(`/api/v1/bookings/${a.body.id}/cancel`).send({}).expect(200);
    // In ("updatedAt", id) order: A was cancelled after B was made.
    const all = await t.api.get(`/api/v1/bookings?userId=${host.userId}`).expect(200);
    expect(all.body.items.map((b: { title: string }) => b.title)).toEqual(['B', 'A']);
    expect(all.body.nextCursor).toBeNull();
    const cancelled = await t.api.get(`/api/v1/bookings?userId=${host.userId}&status=cancelled`).expect(200);
    expect(cancelled.body.items.map((b: { title: string }) => b.title)).toEqual(['A']);
    await t.api.get('/api/v1/bookings?status=maybe').expect(400);
  });
});
