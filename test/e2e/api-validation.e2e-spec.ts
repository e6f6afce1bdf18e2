import { type TestApp, createTestApp } from '../support/create-test-app.js';
import { connectGoogleHost, slot } from '../support/fixtures.js';

/** Every caller mistake is a readable 4xx and leaves the database as it was. */
describe('Bad input', () => {
  let t: TestApp;

  const counts = async () => {
    const rows: Array<Record<string, string>> = await t.dataSource.query(`
      SELECT (SELECT count(*) FROM "User")::text AS users, (SELECT count(*) FROM "Team")::text AS teams,
             (SELECT count(*) FROM "Credential")::text AS credentials, (SELECT count(*) FROM "Booking")::text AS bookings,
             (SELECT count(*) FROM "Attendee")::text AS attendees, (SELECT count(*) FROM "SelectedCalendar")::text AS calendars,
             (SELECT count(*) FROM graphile_worker.jobs)::text AS jobs`);
    return rows[0];
  };

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('needs the API key', async () => {
    await t.http.get('/api/v1/bookings').expect(401);
    const wrong = await t.http.get('/api/v1/bookings').set('Authorization', 'Bearer nope').expect(401);
    expect(wrong.body.detail).toMatch(/Invalid API key/);
    await t.http.get('/api/v1/bookings').set('Authorization', `Bearer ${t.config.adminApiKey}`).expect(401);
  });

  it('what is refused before any route runs is problem+json too: a broken percent-encoding, headers over the size limit', async () => {
    for (const path of ['/api/v1/bookings/%E0%A4%A', '/api/v1/users/%ZZ']) {
      const bad = await t.http.get(path).set('x-request-id', 'bad-url-1').expect(400);
      expect(bad.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(bad.headers['x-request-id']).toBe('bad-url-1');
      expect(bad.body).toEqual({
        type: 'about:blank',
        title: 'Bad Request',
        status: 400,
        detail: expect.stringMatching(/percent-encoding/),
        code: 'bad_url',
        requestId: 'bad-url-1',
      });
    }
    const huge = await t.http.get('/api/v1/bookings').set('x-filler', 'a'.repeat(20_000)).expect(431);
    expect(huge.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(huge.body).toMatchObject({ status: 431, code: 'headers_too_large', requestId: huge.headers['x-request-id'] });
    expect(huge.body.requestId).toMatch(/^[0-9a-f-]{36}$/);
    // The service still answers.
    await t.http.get('/health/live').expect(200);
  });

  it('rejects malformed bodies without touching the database', async () => {
    const host = await connectGoogleHost(t);
    await new Promise((r) => setTimeout(r, 300));
    const before = await counts();
    const good = { userId: host.userId, title: 'Call', ...slot(2), attendees: [] };

    const invalidJson = await t.api
      .post('/api/v1/bookings')
      .set('Content-Type', 'application/json')
      .send('{"userId": 1,')
      .expect(400);
    expect(invalidJson.body).toMatchObject({ status: 400, code: 'invalid_json', detail: expect.stringMatching(/JSON/) });

    const unknownField = await t.api
      .post('/api/v1/bookings')
      .send({ ...good, colour: 'red' })
      .expect(400);
    expect(unknownField.body.errors).toContainEqual({ field: 'colour', message: 'property colour is not allowed' });

    const badDate = await t.api
      .post('/api/v1/bookings')
      .send({ ...good, startTime: '2026-13-45T10:00:00Z' })
      .expect(400);
    expect(badDate.body.errors).toContainEqual({
      field: 'startTime',
      message: expect.stringMatching(/^startTime must be an ISO 8601/),
    });

    const localTime = await t.api
      .post('/api/v1/bookings')
      .send({ ...good, startTime: '2026-12-01T10:00:00' })
      .expect(400);
    expect(localTime.body.errors).toContainEqual({ field: 'startTime', message: expect.stringMatching(/startTime/) });

    const backwards = await t.api
      .post('/api/v1/bookings')
      .send({ ...good, startTime: good.endTime, endTime: good.startTime })
      .expect(400);
    expect(backwards.body.errors).toContainEqual({ field: 'endTime', message: 'endTime must be after startTime' });

    const badAttendee = await t.api
      .post('/api/v1/bookings')
      .send({ ...good, attendees: [{ email: 'not-an-email' }] })
      .expect(400);
    expect(badAttendee.body.errors).toContainEqual({
      field: 'attendees.0.email',
      message: expect.stringMatching(/^attendees\.0\.email must be an email/),
    });

    const unknownUser = await t.api
      .post('/api/v1/bookings')
      .send({ ...good, userId: 999999 })
      .expect(404);
    expect(unknownUser.body.detail).toBe('User 999999 not found');

    const noDestination = await connectGoogleHost(t, { destination: false });
    const before2 = await counts();
    const conflict = await t.api
      .post('/api/v1/bookings')
      .send({ ...good, userId: noDestination.userId })
      .expect(409);
    expect(conflict.body.detail).toMatch(/no destination calendar/);
    expect(await counts()).toEqual(before2);

    const badProvider = await t.api
      .post(`/api/v1/users/${host.userId}/credentials`)
      .send({ provider: 'yahoo_calendar', accessToken: 'a', refreshToken: 'b', expiresAt: new Date().toISOString() })
      .expect(400);
    expect(badProvider.body.errors).toContainEqual({
      field: 'provider',
      message: expect.stringContaining('provider must be one of: google_calendar, office365_calendar'),
    });

    expect((await t.api.get('/api/v1/bookings/abc').expect(400)).body.detail).toBe('"abc" is not a valid id');
    expect((await t.api.get('/api/v1/users/1e3').expect(400)).body.detail).toBe('"1e3" is not a valid id');
    await t.api.get('/api/v1/bookings/424242').expect(404);
    await t.api.post('/api/v1/bookings/424242/reschedule').send(slot(3)).expect(404);
    await t.api.post('/api/v1/users').send({ email: 'x@example.com', timeZone: 'Mars/Olympus' }).expect(400);
    await t.api.post('/api/v1/teams').send({ name: 'Child', parentId: 987654 }).expect(404);
    const blank = await t.api.post('/api/v1/teams').send({ name: '   ' }).expect(400);
    expect(blank.body.errors).toEqual([{ field: 'name', message: 'name must not be blank' }]);
    await t.api.put(`/api/v1/teams/987654/members/${host.userId}`).expect(404);
    await t.api
      .put(`/api/v1/users/${host.userId}/destination-calendar`)
      .send({ credentialId: host.credentialId, externalId: 'no-such-calendar@example.com' })
      .expect(404);
    await t.api.post(`/api/v1/users/${host.userId}/selected-calendars`).send({ credentialId: 0, externalId: 'x' }).expect(400);

    const huge = await t.api.post('/api/v1/bookings').send({ ...good, description: 'x'.repeat(1024 * 1024 + 10) });
    expect(huge.status).toBe(413);

    const after = await counts();
    expect({ ...after, users: before.users }).toEqual({ ...before2, users: before.users });
    expect(after.bookings).toBe(before.bookings);
    expect(after.jobs).toBe(before.jobs);
  });

  it('users and teams: explicit ids, duplicates are conflicts, membership is idempotent', async () => {
    const user = await t.api.post('/api/v1/users').send({ id: 5000, email: 'Ada@Example.com', timeZone: 'UTC' }).expect(201);
    expect(user.body).toMatchObject({ id: 5000, email: 'ada@example.com', timeZone: 'UTC' });
    await t.api.post('/api/v1/users').send({ id: 5000, email: 'other@example.com', timeZone: 'UTC' }).expect(409);
    await t.api.post('/api/v1/users').send({ email: 'ADA@example.com', timeZone: 'UTC' }).expect(409);
    const next = await t.api.post('/api/v1/users').send({ email: 'next@example.com', timeZone: 'UTC' }).expect(201);
    expect(next.body.id).toBeGreaterThan(5000);

    const parent = await t.api.post('/api/v1/teams').send({ id: 700, name: 'Org' }).expect(201);
    const child = await t.api.post('/api/v1/teams').send({ name: 'Sales', parentId: parent.body.id }).expect(201);
    expect(child.body.parentId).toBe(700);
    await t.api.put(`/api/v1/teams/${child.body.id}/members/5000`).expect(204);
    await t.api.put(`/api/v1/teams/${child.body.id}/members/5000`).expect(204);
    const members: Array<{ count: string }> = await t.dataSource.query(
      'SELECT count(*)::text AS count FROM "Membership" WHERE "teamId" = $1',
      [child.body.id],
    );
    expect(members[0].count).toBe('1');
    await t.api.delete(`/api/v1/teams/${child.body.id}/members/5000`).expect(204);
    await t.api.put(`/api/v1/teams/${child.body.id}/members/777777`).expect(404);
  });

  it('a route that takes no body refuses fields sent anyway as unknown fields, and runs nothing', async () => {
    const host = await connectGoogleHost(t);
    const team = await t.api.post('/api/v1/teams').send({ name: 'Bodiless' }).expect(201);
    const member = `/api/v1/teams/${team.body.id}/members/${host.userId}`;
    const refused = await t.api.put(member).send({ role: 'admin' }).expect(400);
    expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(refused.body).toMatchObject({
      code: 'validation_failed',
      errors: [{ field: 'role', message: 'property role is not allowed' }],
    });
    const memberships = async () =>
      Number(
        (
          (await t.dataSource.query('SELECT count(*)::int AS n FROM "Membership" WHERE "teamId" = $1', [team.body.id])) as Array<{
            n: number;
          }>
        )[0].n,
      );
    expect(await memberships()).toBe(0);
    const jobs = async () =>
      Number(((await t.dataSource.query('SELECT count(*)::int AS n FROM graphile_worker.jobs')) as Array<{ n: number }>)[0].n);
    const [calendar]: Array<{ id: number }> = await t.dataSource.query(`SELECT id FROM "SelectedCalendar" WHERE "userId" = $1`, [
      host.userId,
    ]);
    const jobsBefore = await jobs();
    await t.admin.post(`/api/v1/admin/selected-calendars/${calendar.id}/resync`).send({ full: true }).expect(400);
    await t.admin.post('/api/v1/admin/tasks/cleanup-cache/run').send({ dryRun: true }).expect(400);
    await t.admin.post(`/api/v1/admin/selected-calendars/${calendar.id}/resync`).send(['x']).expect(400);
    expect(await jobs()).toBe(jobsBefore);
    // No body, or an empty object, is what these routes take.
    await t.api.put(member).expect(204);
    await t.api.put(member).send({}).expect(204);
    expect(await memberships()).toBe(1);
    await t.admin.post(`/api/v1/admin/selected-calendars/${calendar.id}/resync`).expect(202);
  });

  it('numbers past a 32-bit id, forged cursors and NUL characters are 400s that change nothing, never 500s', async () => {
    const host = await connectGoogleHost(t);
    await new Promise((r) => setTimeout(r, 300));
    const before = await counts();
    const cursor = (kind: string, position: Array<string | number>) =>
      Buffer.from(JSON.stringify({ k: kind, p: position })).toString('base64url');
    const problem = (res: { status: number; headers: Record<string, string>; body: { detail?: string } }) => {
      expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
      return res.body.detail ?? '';
    };

    expect(problem(await t.api.get('/api/v1/bookings').query({ userId: '3000000000' }).expect(400))).toMatch(/userId/);
    expect(
      problem(
        await t.api
          .get('/api/v1/bookings')
          .query({ after: cursor('bookings', ['2026-01-01T00:00:00.000000Z', 9_999_999_999]) })
          .expect(400),
      ),
    ).toMatch(/cursor/);
    for (const [path, kind] of [
      ['/api/v1/admin/selected-calendars', 'selected-calendars'],
      ['/api/v1/admin/held-changes', 'held-changes'],
    ]) {
      await t.admin
        .get(path)
        .query({ after: cursor(kind, [9_999_999_999]) })
        .expect(400);
      await t.admin
        .get(path)
        .query({ after: cursor(kind, [-1]) })
        .expect(400);
    }
    // An endpoint cursor is an endpoint id: past 32 bits it is one no list ever returned, a 400 as
    // for the lists above; up to it, past the last endpoint, an empty page.
    expect(problem(await t.api.get('/api/v1/webhook-endpoints').query({ after: '3000000000' }).expect(400))).toMatch(/after/);
    const endpoints = await t.api.get('/api/v1/webhook-endpoints').query({ after: '2147483647' }).expect(200);
    expect(endpoints.body).toEqual({ items: [], nextCursor: null });

    const nul = 'Call\u0000me';
    const team = await t.api.post('/api/v1/teams').send({ name: nul }).expect(400);
    expect(problem(team)).toMatch(/NUL/);
    await t.api.post('/api/v1/users').send({ email: 'nul@example.com', name: nul, timeZone: 'UTC' }).expect(400);
    const booking = await t.api
      .post('/api/v1/bookings')
      .send({ userId: host.userId, title: nul, ...slot(3), attendees: [{ email: 'guest@example.com' }] })
      .expect(400);
    expect(problem(booking)).toMatch(/NUL/);
    await t.api
      .post('/api/v1/bookings')
      .send({ userId: host.userId, title: 'Call', ...slot(3), attendees: [{ email: 'guest@example.com', name: nul }] })
      .expect(400);
    // A NUL in the path or the query reaches the database only as a 400.
    const slug = await t.admin.get('/api/v1/admin/features/calendar%00cache').expect(400);
    expect(slug.body).toMatchObject({ code: 'nul_character', detail: expect.stringMatching(/NUL/) });
    await t.admin.put('/api/v1/admin/features/calendar%00cache/users/1').send({}).expect(400);
    // A backslash followed by u0000 is ordinary text, not a NUL.
    const literal = await t.api.post('/api/v1/teams').send({ name: 'path\\u0000' }).expect(201);
    expect(literal.body.name).toBe('path\\u0000');

    const after = await counts();
    expect({ ...after, teams: before.teams }).toEqual(before);
    expect(Number(after.teams)).toBe(Number(before.teams) + 1);
  });

  it('deep bodies, nested attendee arrays, impossible dates and zones the database lacks are 400s that change nothing', async () => {
    const host = await connectGoogleHost(t);
    await new Promise((r) => setTimeout(r, 300));
    const before = await counts();
    const deep = (levels: number, inner: string) => `${'['.repeat(levels)}${inner}${']'.repeat(levels)}`;

    // No key needed to reach the parser: refused there, before any guard or validation recursion.
    const anonymous = await t.http
      .post('/api/webhooks/calendar-subscription/office365_calendar')
      .set('Content-Type', 'application/json')
      .send(deep(100_000, '"\\u0000"'))
      .expect(400);
    expect(anonymous.body).toMatchObject({ code: 'body_too_deep', detail: expect.stringMatching(/nested more than 32 levels/) });
    const user = await t.api
      .post('/api/v1/users')
      .set('Content-Type', 'application/json')
      .send(`{"email":"deep@example.com","timeZone":"UTC","name":${deep(100_000, '1')}}`)
      .expect(400);
    expect(user.body.code).toBe('body_too_deep');
    await t.api
      .post('/api/v1/bookings')
      .set('Idempotency-Key', 'deep-body')
      .set('Content-Type', 'application/json')
      .send(
        `{"userId":${host.userId},"title":"x","startTime":"${slot(2).startTime}","endTime":"${slot(2).endTime}","attendees":[${deep(40, '{"email":"a@example.com"}')}]}`,
      )
      .expect(400)
      .expect((res) => expect(res.body.code).toBe('body_too_deep'));
    // Bodies of ordinary depth are untouched by the limit (a Graph notification nests four levels).
    await t.api.post('/api/v1/teams').send({ name: 'Shallow' }).expect(201);

    for (const attendees of [[[]], [[{ email: 'a@example.com' }]], ['a@example.com'], [null]]) {
      const res = await t.api
        .post('/api/v1/bookings')
        .send({ userId: host.userId, title: 'x', ...slot(2), attendees })
        .expect(400);
      expect(res.body.detail).toMatch(/attendee/);
    }

    for (const [startTime, endTime] of [
      ['2027-02-30T10:00:00Z', '2027-02-30T11:00:00Z'],
      ['2027-04-31T10:00:00Z', '2027-05-01T11:00:00Z'],
      ['9999-12-31T22:00:00-05:00', '9999-12-31T23:00:00-05:00'],
      ['2027-01-01T24:00:00Z', '2027-01-02T01:00:00Z'],
    ]) {
      const res = await t.api
        .post('/api/v1/bookings')
        .send({ userId: host.userId, title: 'x', startTime, endTime, attendees: [] })
        .expect(400);
      expect(res.body.detail).toMatch(/ISO 8601/);
    }
    await t.api
      .get(`/api/v1/users/${host.userId}/busy-times`)
      .query({ start: '2027-02-29T00:00:00Z', end: '2027-03-02T00:00:00Z' })
      .expect(400);

    // ICU-only names, and names PostgreSQL reads as fixed-offset abbreviations where Intl has summer time.
    for (const timeZone of ['VST', 'SystemV/AST4', 'CET', 'wet']) {
      const res = await t.api
        .post('/api/v1/users')
        .send({ email: `zone-${timeZone.replace('/', '-')}@example.com`, timeZone })
        .expect(400);
      expect(res.body).toMatchObject({ code: 'unknown_time_zone', detail: expect.stringMatching(/IANA name/) });
    }
    // Aliases PostgreSQL knows stay as given; an abbreviation of the same fixed offset in both is taken.
    for (const timeZone of ['EST', 'utc', 'Etc/GMT+5']) {
      const taken = await t.api
        .post('/api/v1/users')
        .send({ email: `taken-${timeZone.replace('/', '-')}@example.com`, timeZone })
        .expect(201);
      expect(taken.body.timeZone).toBe(timeZone);
    }
    const alias = await t.api.post('/api/v1/users').send({ email: 'alias-zone@example.com', timeZone: 'US/Pacific' }).expect(201);
    expect(alias.body.timeZone).toBe('US/Pacific');
    const day = slot(1);
    const busy = await t.api
      .get(`/api/v1/users/${alias.body.id}/busy-times`)
      .query({ start: day.startTime, end: day.endTime })
      .expect(200);
    expect(busy.body.busy).toEqual([]);

    // A feed cursor past 2^53 comes back as given when nothing is newer (it used to come back rounded, then refused).
    const feed = await t.api.get('/api/v1/changes').query({ after: '999999999999999999' }).expect(200);
    expect(feed.body).toEqual({ items: [], nextCursor: '999999999999999999' });

    const after = await counts();
    expect({ ...after, teams: before.teams, users: before.users }).toEqual(before);
    expect(Number(after.teams)).toBe(Number(before.teams) + 1);
    expect(Number(after.users)).toBe(Number(before.users) + 4);
  });

  it('never returns provider tokens', async () => {
    const host = await connectGoogleHost(t);
    const list = await t.api.get(`/api/v1/users/${host.userId}/credentials`).expect(200);
    expect(JSON.stringify(list.body)).not.toContain(host.refreshToken);
    const stored: Array<{ encryptedKey: string }> = await t.dataSource.query(
      'SELECT "encryptedKey" FROM "Credential" WHERE id = $1',
      [host.credentialId],
    );
    expect(stored[0].encryptedKey).not.toContain(host.refreshToken);
  });
});
