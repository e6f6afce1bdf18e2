import type { Response } from 'supertest';
import { type TestApp, createTestApp } from '../support/create-test-app.js';
import { type Host, connectGoogleHost, slot } from '../support/fixtures.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Asserts the one error shape (RFC 9457 problem+json) and returns the body. */
function problem(res: Response, status: number, code: string): Record<string, unknown> {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.body).toEqual(
    expect.objectContaining({ type: 'about:blank', title: expect.any(String), status, code, detail: expect.any(String) }),
  );
  expect(res.body.requestId).toBe(res.headers['x-request-id']);
  expect(res.body.requestId).not.toBe('');
  // No leftovers of the old shape.
  expect(res.body).not.toHaveProperty('message');
  expect(res.body).not.toHaveProperty('statusCode');
  return res.body as Record<string, unknown>;
}

/** Every error is application/problem+json with a stable code and the request id. */
describe('Errors (problem+json)', () => {
  let t: TestApp;
  let host: Host;

  const bookingCount = async () => Number((await t.dataSource.query(`SELECT count(*)::int AS n FROM "Booking"`))[0].n as number);

  beforeAll(async () => {
    t = await createTestApp();
    host = await connectGoogleHost(t);
  });
  afterAll(async () => {
    await t.close();
  });

  it('a missing field says it is required, field by field', async () => {
    const { attendees: _omitted, ...withoutAttendees } = { userId: host.userId, title: 'Call', ...slot(2), attendees: [] };
    const res = await t.api.post('/api/v1/bookings').send(withoutAttendees);
    const body = problem(res, 400, 'validation_failed');
    expect(body.errors).toEqual([{ field: 'attendees', message: 'attendees is required' }]);
    expect(body.detail).toBe('Invalid request: attendees is required');
    expect(JSON.stringify(body)).not.toMatch(/no more than 200 elements/);

    const empty = problem(await t.api.post('/api/v1/bookings').send({}), 400, 'validation_failed');
    expect(empty.errors).toEqual(
      expect.arrayContaining([
        { field: 'userId', message: 'userId is required' },
        { field: 'title', message: 'title is required' },
        { field: 'startTime', message: 'startTime is required' },
        { field: 'endTime', message: 'endTime is required' },
        { field: 'attendees', message: 'attendees is required' },
      ]),
    );
    expect(empty.detail).toMatch(/^5 problems in the request: /);

    const nested = problem(
      await t.api
        .post('/api/v1/bookings')
        .send({ userId: host.userId, title: 'Call', ...slot(2), attendees: [{ name: 'No Email' }] }),
      400,
      'validation_failed',
    );
    expect(nested.errors).toEqual([{ field: 'attendees.0.email', message: 'attendees.0.email is required' }]);
  });

  it('JSON sent as text/plain (or any other type) is a 415 naming application/json, and creates nothing', async () => {
    const before = await bookingCount();
    const json = JSON.stringify({ userId: host.userId, title: 'Call', ...slot(2), attendees: [] });
    const asText = await t.api.post('/api/v1/bookings').set('Content-Type', 'text/plain').send(json);
    const body = problem(asText, 415, 'unsupported_media_type');
    expect(body.detail).toContain('application/json');
    expect(body).not.toHaveProperty('errors');

    const asForm = await t.api
      .post('/api/v1/bookings')
      .set('Content-Type', 'application/x-www-form-urlencoded')
      .send('title=Call');
    expect(problem(asForm, 415, 'unsupported_media_type').detail).toContain('application/json');
    const asXml = await t.api.post('/api/v1/users').set('Content-Type', 'application/xml').send('<user/>');
    expect(problem(asXml, 415, 'unsupported_media_type').detail).toContain('application/json');
    expect(await bookingCount()).toBe(before);
  });

  it('a compressed body (or any content coding) is a 415 naming the coding, and creates nothing', async () => {
    const { gzipSync } = await import('node:zlib');
    const before = await bookingCount();
    const json = JSON.stringify({ userId: host.userId, title: 'Zipped', ...slot(2), attendees: [] });
    const gzipped = await t.api
      .post('/api/v1/bookings')
      .set('Content-Type', 'application/json')
      .set('Content-Encoding', 'gzip')
      .send(gzipSync(json));
    const body = problem(gzipped, 415, 'unsupported_media_type');
    expect(body.detail).toBe('Content-Encoding gzip is not accepted: send the body uncompressed');
    // A coding it does not know is not ignored either; identity is no coding.
    const unknown = await t.api
      .post('/api/v1/bookings')
      .set('Content-Type', 'application/json')
      .set('Content-Encoding', 'br2')
      .send(json);
    expect(problem(unknown, 415, 'unsupported_media_type').detail).toContain('br2');
    expect(await bookingCount()).toBe(before);
    await t.api
      .post('/api/v1/bookings')
      .set('Content-Type', 'application/json')
      .set('Content-Encoding', 'identity')
      .send(json)
      .expect(201);
  });

  it('a booking created or moved into the past is a 400 booking_in_past; a few seconds of clock skew are tolerated', async () => {
    const before = await bookingCount();
    const hourAgo = Date.now() - 3600_000;
    const past = { startTime: new Date(hourAgo).toISOString(), endTime: new Date(hourAgo + 1800_000).toISOString() };
    const created = await t.api.post('/api/v1/bookings').send({ userId: host.userId, title: 'Late', ...past, attendees: [] });
    const body = problem(created, 400, 'booking_in_past');
    expect(body.errors).toEqual([{ field: 'startTime', message: expect.stringMatching(/^startTime is in the past/) }]);
    expect(body.detail).toMatch(/startTime is in the past/);
    expect(await bookingCount()).toBe(before);

    const skewed = Date.now() - 10_000;
    const ok = await t.api
      .post('/api/v1/bookings')
      .send({
        userId: host.userId,
        title: 'Starting now',
        startTime: new Date(skewed).toISOString(),
        endTime: new Date(skewed + 1800_000).toISOString(),
        attendees: [],
      })
      .expect(201);

    const moved = await t.api.post(`/api/v1/bookings/${ok.body.id}/reschedule`).send(past);
    expect(problem(moved, 400, 'booking_in_past').errors).toEqual([
      { field: 'startTime', message: expect.stringMatching(/^startTime is in the past/) },
    ]);
    const after = await t.api.get(`/api/v1/bookings/${ok.body.id}`).expect(200);
    expect(after.body.startTime).toBe(new Date(skewed).toISOString());
  });

  it('other problems have their own codes', async () => {
    expect(problem(await t.api.get('/api/v1/bookings/424242'), 404, 'booking_not_found').detail).toBe('Booking 424242 not found');
    expect(problem(await t.http.get('/api/v1/bookings'), 401, 'unauthorized').detail).toMatch(/bearer/i);
    expect(problem(await t.api.get('/api/v1/bookings/abc'), 400, 'bad_request').detail).toBe('"abc" is not a valid id');
    expect(problem(await t.api.get('/api/v1/no-such-route'), 404, 'not_found').detail).toMatch(/no-such-route/);
    const broken = await t.api.post('/api/v1/bookings').set('Content-Type', 'application/json').send('{"title":');
    expect(problem(broken, 400, 'invalid_json').detail).toMatch(/JSON/);
    const huge = await t.api
      .post('/api/v1/bookings')
      .set('Content-Type', 'application/json')
      .send(JSON.stringify({ title: 'x'.repeat(1024 * 1024 + 10) }));
    expect(problem(huge, 413, 'payload_too_large').detail).toMatch(/1 MiB/);
  });

  it('every answer carries x-request-id; a sane incoming one is kept, anything else replaced', async () => {
    const ok = await t.api.get(`/api/v1/users/${host.userId}`).expect(200);
    expect(ok.headers['x-request-id']).toMatch(UUID);

    const traced = await t.api.get('/api/v1/bookings/424242').set('X-Request-Id', 'host-trace.42:abc');
    expect(traced.headers['x-request-id']).toBe('host-trace.42:abc');
    expect(problem(traced, 404, 'booking_not_found').requestId).toBe('host-trace.42:abc');

    for (const insane of ['has spaces in it', 'x'.repeat(200), 'quote"d', '<script>']) {
      const res = await t.api.get('/api/v1/bookings/424242').set('X-Request-Id', insane);
      expect(problem(res, 404, 'booking_not_found').requestId).toMatch(UUID);
    }
    const a = await t.api.get('/api/v1/bookings/424242');
    const b = await t.api.get('/api/v1/bookings/424242');
    expect(a.body.requestId).not.toBe(b.body.requestId);
  });
});
