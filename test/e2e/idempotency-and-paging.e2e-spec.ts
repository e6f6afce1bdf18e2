import { createHash } from 'node:crypto';
import { IdempotencyCleanup } from '../../src/common/idempotency/index.js';
import { requestFingerprint as fingerprintOf } from '../../src/common/idempotency/idempotency.interceptor.js';
import { type TestApp, createTestApp } from '../support/create-test-app.js';
import { type Host, connectGoogleHost, slot } from '../support/fixtures.js';
import { waitForQueueIdle } from '../support/sync-helpers.js';

describe('Idempotency-Key on booking writes', () => {
  let t: TestApp;
  let host: Host;

  beforeAll(async () => {
    t = await createTestApp();
    host = await connectGoogleHost(t);
  });
  afterAll(async () => {
    await t.close();
  });

  let n = 0;
  const key = () => `key-${++n}-${process.pid}-${Date.now()}`;
  const bookingsTitled = async (title: string) =>
    (await t.dataSource.query(`SELECT "id" FROM "Booking" WHERE "title" = $1`, [title])) as Array<{ id: number }>;
  const eventsTitled = (title: string) => t.google.listEvents(host.calendarId).filter((e) => e.summary === title);
  const historyOf = async (id: number) =>
    ((await t.api.get(`/api/v1/bookings/${id}`).expect(200)).body.history as Array<{ action: string }>).map((h) => h.action);

  it('a retried create answers the first answer and makes one booking, one calendar event', async () => {
    const k = key();
    const body = { userId: host.userId, title: 'Retried create', ...slot(3), attendees: [{ email: 'guest@example.com' }] };
    const first = await t.api.post('/api/v1/bookings').set('Idempotency-Key', k).send(body).expect(201);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    await waitForQueueIdle(t);
    // The client timed out and sends the same request again, keys of the body in another order.
    const { attendees, ...rest } = body;
    const retry = await t.api
      .post('/api/v1/bookings')
      .set('Idempotency-Key', k)
      .send({ attendees, ...rest })
      .expect(201);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.body).toEqual(first.body);
    await waitForQueueIdle(t);
    expect(await bookingsTitled('Retried create')).toHaveLength(1);
    expect(eventsTitled('Retried create')).toHaveLength(1);
    expect(eventsTitled('Retried create')[0].attendees?.map((a) => a.email)).toEqual(['guest@example.com']);
  });

  it('the same key with another body is a 422, and changes nothing', async () => {
    const k = key();
    await t.api
      .post('/api/v1/bookings')
      .set('Idempotency-Key', k)
      .send({ userId: host.userId, title: 'Keyed once', ...slot(4), attendees: [] })
      .expect(201);
    const reused = await t.api
      .post('/api/v1/bookings')
      .set('Idempotency-Key', k)
      .send({ userId: host.userId, title: 'Keyed twice', ...slot(4), attendees: [] })
      .expect(422);
    expect(reused.body).toMatchObject({ status: 422, code: 'idempotency_key_reused' });
    expect(reused.body.detail).toMatch(/already used for a different request/);
    expect(await bookingsTitled('Keyed twice')).toHaveLength(0);
  });

  it('concurrent requests with the same key: exactly one executes, every one answers its booking', async () => {
    const k = key();
    const body = { userId: host.userId, title: 'Raced create', ...slot(5), attendees: [] };
    const answers = await Promise.all(
      Array.from({ length: 6 }, () => t.api.post('/api/v1/bookings').set('Idempotency-Key', k).send(body)),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(6).fill(201));
    expect(new Set(answers.map((a) => a.body.id)).size).toBe(1);
    expect(answers.filter((a) => a.headers['idempotent-replayed'] === undefined)).toHaveLength(1);
    await waitForQueueIdle(t);
    expect(await bookingsTitled('Raced create')).toHaveLength(1);
    expect(eventsTitled('Raced create')).toHaveLength(1);
  });

  it('a repeated reschedule answers the first answer and does not move the booking again', async () => {
    const booking = await t.api
      .post('/api/v1/bookings')
      .send({ userId: host.userId, title: 'Moved once', ...slot(6), attendees: [] })
      .expect(201);
    const k = key();
    const first = await t.api
      .post(`/api/v1/bookings/${booking.body.id}/reschedule`)
      .set('Idempotency-Key', k)
      .send(slot(7))
      .expect(200);
    expect(first.body.startTime).toBe(slot(7).startTime);
    // Meanwhile someone else moves it on (no key).
    await t.api.post(`/api/v1/bookings/${booking.body.id}/reschedule`).send(slot(8)).expect(200);
    const repeat = await t.api
      .post(`/api/v1/bookings/${booking.body.id}/reschedule`)
      .set('Idempotency-Key', k)
      .send(slot(7))
      .expect(200);
    expect(repeat.body).toEqual(first.body);
    const now = await t.api.get(`/api/v1/bookings/${booking.body.id}`).expect(200);
    expect(now.body.startTime).toBe(slot(8).startTime);
    expect(await historyOf(booking.body.id)).toEqual(['created', 'rescheduled', 'rescheduled']);
    // The same key for another booking is another request: 422.
    const other = await t.api
      .post('/api/v1/bookings')
      .send({ userId: host.userId, title: 'Other', ...slot(9), attendees: [] })
      .expect(201);
    await t.api.post(`/api/v1/bookings/${other.body.id}/reschedule`).set('Idempotency-Key', k).send(slot(7)).expect(422);
  });

  it('a repeated cancel answers the first answer; a key used on another route is a 422, and changes nothing', async () => {
    const k = key();
    const booking = await t.api
      .post('/api/v1/bookings')
      .set('Idempotency-Key', k)
      .send({ userId: host.userId, title: 'Cancelled once', ...slot(10), attendees: [] })
      .expect(201);
    // The same key on another route is another request with that key.
    // Kept under the caller, and under the caller and route too, where an instance of the version
    // before (a rolling upgrade) looks for it and claims it: both hold the first answer.
    const rows: Array<{ scope: string; status: number; response: string }> = await t.dataSource.query(
      `SELECT "scope", "status", "response" FROM "IdempotencyKey" WHERE "key" = $1 ORDER BY length("scope")`,
      [k],
    );
    expect(rows.map((r) => r.scope.split(':').slice(1).join(':'))).toEqual(['', 'POST /api/v1/bookings']);
    for (const row of rows)
      expect({ status: row.status, body: JSON.parse(row.response) }).toEqual({ status: 201, body: booking.body });
    const reused = await t.api
      .post(`/api/v1/bookings/${booking.body.id}/cancel`)
      .set('Idempotency-Key', k)
      .send({ reason: 'no longer needed' })
      .expect(422);
    expect(reused.body.code).toBe('idempotency_key_reused');
    expect((await t.api.get(`/api/v1/bookings/${booking.body.id}`).expect(200)).body.status).toBe('accepted');
    // Keys stored by versions that kept them per route (until they expire) still answer their repeats.
    const legacy = key();
    const legacyAnswer = { ...booking.body, title: 'as stored by an earlier version' };
    const caller = rows[0].scope;
    const cancelBody = { reason: 'stored per route' };
    await t.dataSource.query(
      `INSERT INTO "IdempotencyKey" ("scope", "key", "fingerprint", "status", "response", "expiresAt")
       VALUES ($1, $2, $3, 200, $4, now() + interval '1 hour')`,
      [
        `${caller}:POST /api/v1/bookings/:id/cancel`,
        legacy,
        fingerprintOf('POST', `/api/v1/bookings/${booking.body.id}/cancel`, cancelBody),
        JSON.stringify(legacyAnswer),
      ],
    );
    const replayed = await t.api
      .post(`/api/v1/bookings/${booking.body.id}/cancel`)
      .set('Idempotency-Key', legacy)
      .send(cancelBody)
      .expect(200);
    expect(replayed.body).toEqual(legacyAnswer);
    expect((await t.api.get(`/api/v1/bookings/${booking.body.id}`).expect(200)).body.status).toBe('accepted');

    const cancelKey = key();
    const first = await t.api
      .post(`/api/v1/bookings/${booking.body.id}/cancel`)
      .set('Idempotency-Key', cancelKey)
      .send({ reason: 'no longer needed' })
      .expect(200);
    expect(first.body.status).toBe('cancelled');
    const repeat = await t.api
      .post(`/api/v1/bookings/${booking.body.id}/cancel`)
      .set('Idempotency-Key', cancelKey)
      .send({ reason: 'no longer needed' })
      .expect(200);
    expect(repeat.body).toEqual(first.body);
    expect(await historyOf(booking.body.id)).toEqual(['created', 'cancelled']);
  });

  it('a cancel without a body and its repeat with {} are the same request (and a key stored for {} by the version before still replays)', async () => {
    const booking = await t.api
      .post('/api/v1/bookings')
      .send({ userId: host.userId, title: 'Cancelled without a reason', ...slot(13), attendees: [] })
      .expect(201);
    const k = key();
    const first = await t.api.post(`/api/v1/bookings/${booking.body.id}/cancel`).set('Idempotency-Key', k).expect(200);
    const repeat = await t.api.post(`/api/v1/bookings/${booking.body.id}/cancel`).set('Idempotency-Key', k).send({}).expect(200);
    expect(repeat.headers['idempotent-replayed']).toBe('true');
    expect(repeat.body).toEqual(first.body);
    // A body is still another request.
    await t.api
      .post(`/api/v1/bookings/${booking.body.id}/cancel`)
      .set('Idempotency-Key', k)
      .send({ reason: 'changed my mind' })
      .expect(422);

    // A key the version before stored for a `{}` body: its fingerprint hashed `{}` itself.
    const [{ scope: caller }]: Array<{ scope: string }> = await t.dataSource.query(
      `SELECT "scope" FROM "IdempotencyKey" WHERE "key" = $1 AND "scope" NOT LIKE '%:%'`,
      [k],
    );
    const legacyEmptyObjectFingerprint = (method: string, path: string) =>
      createHash('sha256')
        .update(JSON.stringify({ body: {}, method, path }))
        .digest('base64url');
    const other = await t.api
      .post('/api/v1/bookings')
      .send({ userId: host.userId, title: 'Cancelled earlier', ...slot(14), attendees: [] })
      .expect(201);
    const legacy = key();
    const path = `/api/v1/bookings/${other.body.id}/cancel`;
    const legacyAnswer = { ...other.body, status: 'cancelled' };
    await t.dataSource.query(
      `INSERT INTO "IdempotencyKey" ("scope", "key", "fingerprint", "status", "response", "expiresAt")
       VALUES ($1, $2, $3, 200, $4, now() + interval '1 hour')`,
      [caller, legacy, legacyEmptyObjectFingerprint('POST', path), JSON.stringify(legacyAnswer)],
    );
    const replayed = await t.api.post(path).set('Idempotency-Key', legacy).send({}).expect(200);
    expect(replayed.body).toEqual(legacyAnswer);
    expect((await t.api.get(`/api/v1/bookings/${other.body.id}`).expect(200)).body.status).toBe('accepted');
  });

  it('refuses empty, over-long and repeated keys with a 400; 255 characters are fine', async () => {
    const body = { userId: host.userId, title: 'Key rules', ...slot(11), attendees: [] };
    const empty = await t.api.post('/api/v1/bookings').set('Idempotency-Key', '').send(body).expect(400);
    expect(empty.body.code).toBe('invalid_idempotency_key');
    const long = await t.api.post('/api/v1/bookings').set('Idempotency-Key', 'k'.repeat(256)).send(body).expect(400);
    expect(long.body.detail).toMatch(/at most 255/);
    expect(await bookingsTitled('Key rules')).toHaveLength(0);
    await t.api.post('/api/v1/bookings').set('Idempotency-Key', 'k'.repeat(255)).send(body).expect(201);
  });

  it('a request that fails stores no key: its retry runs again', async () => {
    const k = key();
    const booking = await t.api
      .post('/api/v1/bookings')
      .send({ userId: host.userId, title: 'Fails first', ...slot(12), attendees: [] })
      .expect(201);
    await t.api.post(`/api/v1/bookings/${booking.body.id}/cancel`).send({}).expect(200);
    await t.api.post(`/api/v1/bookings/${booking.body.id}/reschedule`).set('Idempotency-Key', k).send(slot(13)).expect(409);
    const rows = await t.dataSource.query(`SELECT 1 FROM "IdempotencyKey" WHERE "key" = $1`, [k]);
    expect(rows).toHaveLength(0);
    await t.api.post(`/api/v1/bookings/${booking.body.id}/reschedule`).set('Idempotency-Key', k).send(slot(13)).expect(409);
  });

  it('keys are kept 24 hours, then the clean-up removes them', async () => {
    const k = key();
    const body = { userId: host.userId, title: 'Old key', ...slot(14), attendees: [] };
    await t.api.post('/api/v1/bookings').set('Idempotency-Key', k).send(body).expect(201);
    const [kept] = await t.dataSource.query(
      `SELECT extract(epoch FROM "expiresAt" - "createdAt") / 3600 AS hours FROM "IdempotencyKey" WHERE "key" = $1`,
      [k],
    );
    expect(Number(kept.hours)).toBeCloseTo(24, 3);
    await t.dataSource.query(
      `UPDATE "IdempotencyKey" SET "expiresAt" = clock_timestamp() - interval '1 second' WHERE "key" = $1`,
      [k],
    );
    const result = await t.app.get(IdempotencyCleanup).run();
    expect(result.deletedKeys).toBeGreaterThanOrEqual(1);
    expect(await t.dataSource.query(`SELECT 1 FROM "IdempotencyKey" WHERE "key" = $1`, [k])).toHaveLength(0);
  });
});

describe('Cursor paging', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  const walk = async (path: string, limit: number, client = t.api) => {
    const pages: Array<Array<Record<string, unknown>>> = [];
    let after: string | null = null;
    do {
      const sep = path.includes('?') ? '&' : '?';
      const res: { body: { items: Array<Record<string, unknown>>; nextCursor: string | null } } = await client
        .get(`${path}${sep}limit=${limit}${after ? `&after=${encodeURIComponent(after)}` : ''}`)
        .expect(200);
      expect(Object.keys(res.body).sort()).toEqual(['items', 'nextCursor']);
      pages.push(res.body.items);
      after = res.body.nextCursor;
    } while (after && pages.length < 100);
    return pages;
  };

  it('walks bookings in ("updatedAt", id) order, page by page, and filters by updatedSince', async () => {
    const host = await connectGoogleHost(t);
    const ids: number[] = [];
    for (let i = 0; i < 5; i++) {
      const b = await t.api
        .post('/api/v1/bookings')
        .send({ userId: host.userId, title: `Paged ${i}`, ...slot(20 + i), attendees: [] })
        .expect(201);
      ids.push(b.body.id);
    }
    const pages = await walk(`/api/v1/bookings?userId=${host.userId}`, 2);
    expect(pages.map((p) => p.length)).toEqual([2, 2, 1]);
    expect(pages.flat().map((b) => b.id)).toEqual(ids);

    const since = new Date().toISOString();
    await t.api.post(`/api/v1/bookings/${ids[1]}/reschedule`).send(slot(30)).expect(200);
    const changed = await t.api.get(`/api/v1/bookings?userId=${host.userId}&updatedSince=${since}`).expect(200);
    expect(changed.body).toEqual({ items: [expect.objectContaining({ id: ids[1] })], nextCursor: null });
    // The changed booking moved to the end of the order.
    expect((await walk(`/api/v1/bookings?userId=${host.userId}`, 50)).flat().map((b) => b.id)).toEqual([
      ids[0],
      ...ids.slice(2),
      ids[1],
    ]);
  });

  it('defaults to 50, allows at most 200, and refuses bad limits and cursors with a 400', async () => {
    const res = await t.api.get('/api/v1/bookings').expect(200);
    expect(res.body.nextCursor).toBeNull();
    for (const bad of [
      'limit=0',
      'limit=201',
      'limit=abc',
      'after=not-a-cursor',
      'after=eyJrIjoiZmVhdHVyZXMiLCJwIjpbImEiXX0',
      'updatedSince=yesterday',
    ]) {
      const refused = await t.api.get(`/api/v1/bookings?${bad}`).expect(400);
      expect(refused.body.status).toBe(400);
    }
    await t.api.get('/api/v1/bookings?limit=200').expect(200);
  });

  it('takes an empty query parameter as not given on every list, and answers every bad limit the same way', async () => {
    await connectGoogleHost(t);
    const lists: Array<[string, string]> = [
      ['/api/v1/bookings', 'limit=&after=&userId=&status=&updatedSince='],
      ['/api/v1/admin/features', 'limit=&after='],
      ['/api/v1/admin/selected-calendars', 'limit=&after=&status='],
      ['/api/v1/admin/held-changes', 'limit=&after=&status='],
    ];
    for (const [list, empty] of lists) {
      const agent = list.startsWith('/api/v1/admin') ? t.admin : t.api;
      const plain = await agent.get(list).expect(200);
      const given = await agent.get(`${list}?${empty}`).expect(200);
      expect(given.body).toEqual(plain.body);
      // 0 and 201 are refused alike: the field named, the same code.
      for (const bad of ['0', '201']) {
        const refused = await agent.get(`${list}?limit=${bad}`).expect(400);
        expect(refused.body).toMatchObject({
          code: 'validation_failed',
          errors: [{ field: 'limit', message: 'limit must be a whole number from 1 to 200' }],
        });
      }
    }
    // An empty required parameter is reported as missing.
    const busy = await t.api.get('/api/v1/users/1/busy-times?start=&end=2026-12-02T00:00:00Z').expect(400);
    expect(busy.body.errors).toEqual([expect.objectContaining({ field: 'start', message: 'start is required' })]);
  });

  it('pages the admin lists: features and selected calendars (with a status filter)', async () => {
    for (const slug of ['paging-a', 'paging-b', 'paging-c']) {
      await t.admin.post('/api/v1/admin/features').send({ slug, enabled: false }).expect(201);
    }
    const features = (await walk('/api/v1/admin/features', 1, t.admin)).flat().map((f) => f.slug as string);
    expect(features).toEqual([...features].sort());
    expect(features).toEqual(expect.arrayContaining(['paging-a', 'paging-b', 'paging-c', 'calendar-subscription-cache']));
    expect(new Set(features).size).toBe(features.length);

    const hosts = [await connectGoogleHost(t), await connectGoogleHost(t), await connectGoogleHost(t)];
    const all = (await walk('/api/v1/admin/selected-calendars', 2, t.admin)).flat();
    const unsubscribed = (await walk('/api/v1/admin/selected-calendars?status=unsubscribed', 1, t.admin)).flat();
    expect(unsubscribed.map((c) => c.id)).toEqual(all.filter((c) => c.status === 'unsubscribed').map((c) => c.id));
    for (const h of hosts) expect(all.some((c) => c.userId === h.userId)).toBe(true);
    expect((await walk('/api/v1/admin/selected-calendars?status=held', 5, t.admin)).flat()).toEqual([]);
    await t.admin.get('/api/v1/admin/features?after=garbage').expect(400);
    await t.admin.get('/api/v1/admin/selected-calendars?limit=500').expect(400);
    // Unknown parameters, a status given twice and a limit in another notation are refused on
    // every admin list, as on the bookings list.
    for (const list of ['/api/v1/admin/selected-calendars', '/api/v1/admin/held-changes', '/api/v1/bookings']) {
      const agent = list.startsWith('/api/v1/admin') ? t.admin : t.api;
      const unknown = await agent.get(`${list}?foo=1`).expect(400);
      expect(unknown.body.errors).toEqual([{ field: 'foo', message: 'property foo is not allowed' }]);
      await agent.get(`${list}?limit=1e2`).expect(400);
      await agent.get(`${list}?limit=0x10`).expect(400);
      await agent.get(`${list}?status=held&status=held`).expect(400);
    }
    await t.admin.get('/api/v1/admin/held-changes?status=bogus').expect(400);
  });

  it('a rare status over many calendars: each request reads a bounded number of rows and the walk still finds every match', async () => {
    const host = await connectGoogleHost(t);
    // 12,000 more calendars of one host, the last one in error: more than two requests' worth of rows.
    const [{ first, last }]: Array<{ first: number; last: number }> = await t.dataSource.query(
      `WITH ins AS (
         INSERT INTO "SelectedCalendar" ("userId", "credentialId", "integration", "externalId")
         SELECT $1, $2, 'google_calendar', 'scan-' || g FROM generate_series(1, 12000) g RETURNING "id")
       SELECT min("id")::int AS first, max("id")::int AS last FROM ins`,
      [host.userId, host.credentialId],
    );
    try {
      await t.dataSource.query(
        `UPDATE "SelectedCalendar" SET "syncErrorAt" = now(), "syncErrorCount" = 3, "lastError" = 'x' WHERE "id" = $1`,
        [last],
      );
      const pages = await walk('/api/v1/admin/selected-calendars?status=error', 5, t.admin);
      const found = pages.flat().map((c) => c.id as number);
      expect(found).toContain(last);
      expect(found.filter((id) => id >= first)).toEqual([last]);
      // The calendars before the match came back as short pages with a cursor, not as one long read.
      expect(pages.length).toBeGreaterThanOrEqual(3);
      expect(new Set(found).size).toBe(found.length);
    } finally {
      await t.dataSource.query(`DELETE FROM "SelectedCalendar" WHERE "id" BETWEEN $1 AND $2`, [first, last]);
    }
  });
});
