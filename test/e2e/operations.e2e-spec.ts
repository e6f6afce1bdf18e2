import { type TestApp, createTestApp } from '../support/create-test-app.js';
import { connectGoogleHost } from '../support/fixtures.js';
import { enableFlagForUser, runTask, waitForQueueIdle } from '../support/sync-helpers.js';

/** The value of one series in a Prometheus text exposition, or undefined when it is absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const [series, value] = [line.slice(0, line.lastIndexOf(' ')), line.slice(line.lastIndexOf(' ') + 1)];
    if (Object.entries(labels).every(([k, v]) => series.includes(`${k}="${v}"`))) return Number(value);
  }
  return undefined;
}

describe('Operations endpoints and database compatibility', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('reports health, metrics and the OpenAPI document without a key', async () => {
    const health = await t.http.get('/health').expect(200);
    expect(health.body).toMatchObject({
      status: 'ok',
      details: {
        shutdown: { status: 'up', draining: false },
        database: { status: 'up' },
        migrations: { status: 'up', pending: 0 },
        jobWorker: { status: 'up' },
      },
    });
    const metrics = await t.http.get('/metrics').expect(200);
    expect(metrics.text).toContain('calsync_notifications_received_total');
    expect(metrics.text).toContain('calsync_provider_api_calls_total');
    const docs = await t.http.get('/docs-json').expect(200);
    expect(Object.keys(docs.body.paths)).toEqual(expect.arrayContaining(['/api/v1/bookings', '/api/v1/users']));
  });

  it('answers liveness and readiness; readiness is 503 while a migration of this build is not applied', async () => {
    await t.http.get('/health/live').expect(200, { status: 'ok', info: {}, error: {}, details: {} });
    const ready = await t.http.get('/health/ready').expect(200);
    expect(Object.keys(ready.body.details)).toEqual(['shutdown', 'database', 'migrations', 'jobWorker']);
    // As if an older build had migrated the database: the newest migration is not recorded.
    const [newest]: Array<{ id: number; timestamp: string; name: string }> = await t.dataSource.query(
      `SELECT id, timestamp::text, name FROM typeorm_migrations ORDER BY timestamp DESC LIMIT 1`,
    );
    await t.dataSource.query(`DELETE FROM typeorm_migrations WHERE id = $1`, [newest.id]);
    try {
      for (const path of ['/health/ready', '/health']) {
        const pending = await t.http.get(path).expect(503);
        expect(pending.body).toMatchObject({
          status: 'error',
          error: { migrations: { status: 'down', message: 'migrations are pending' } },
          info: { database: { status: 'up' } },
        });
      }
      await t.http.get('/health/live').expect(200);
    } finally {
      await t.dataSource.query(`INSERT INTO typeorm_migrations (id, timestamp, name) VALUES ($1, $2, $3)`, [
        newest.id,
        newest.timestamp,
        newest.name,
      ]);
    }
    await t.http.get('/health/ready').expect(200);
  });

  it('exports latency by route, busy times, provider calls, queue, channel and error gauges, and stock process metrics', async () => {
    const host = await connectGoogleHost(t);
    await enableFlagForUser(t, 'calendar-subscription-sync', host.userId);
    await runTask(t, 'subscribe-calendars');
    const channel = t.google.liveChannels(host.calendarId)[0];
    expect(await t.google.sendPush(channel.id, 'exists')).toBe(200);
    await waitForQueueIdle(t);
    await t.api.get(`/api/v1/users/${host.userId}`).expect(200);
    await t.api.get('/api/v1/no-such-route/12345').expect(404);
    await t.api.get(`/api/v1/users/${host.userId}/busy-times?start=2030-01-07T00:00:00Z&end=2030-01-08T00:00:00Z`).expect(200);
    // Queue: a job of a task no worker runs stays ready (due ten minutes ago); one due tomorrow is scheduled.
    await t.dataSource.query(
      `SELECT graphile_worker.add_job('metrics-test-task', '{}'::json, run_at => now() - interval '10 minutes')`,
    );
    await t.dataSource.query(
      `SELECT graphile_worker.add_job('metrics-test-task', '{}'::json, run_at => now() + interval '1 day')`,
    );
    // One due twenty minutes ago but waiting its turn behind a running job of its named queue (as a
    // webhook drain waits for the drain before it): blocked, not ready, and not in the ready age.
    await t.dataSource.query(
      `SELECT graphile_worker.add_job('metrics-test-task', '{}'::json, queue_name => 'metrics-test-queue', run_at => now() - interval '20 minutes')`,
    );
    await t.dataSource.query(
      `UPDATE graphile_worker._private_job_queues SET locked_at = now(), locked_by = 'another-worker' WHERE queue_name = 'metrics-test-queue'`,
    );
    // Calendars: one channel inside the renewal window (an hour left), one lapsed, one calendar failing.
    const [calendar]: Array<{ id: number }> = await t.dataSource.query(`SELECT id FROM "SelectedCalendar" WHERE "userId" = $1`, [
      host.userId,
    ]);
    await t.dataSource.query(
      `UPDATE "SelectedCalendar" SET "channelExpiration" = now() + interval '1 hour', "syncErrorCount" = 2 WHERE id = $1`,
      [calendar.id],
    );
    const other = await connectGoogleHost(t, { destination: false });
    await t.api
      .post(`/api/v1/users/${other.userId}/selected-calendars`)
      .send({ credentialId: other.credentialId, externalId: other.calendarId })
      .expect(201);
    await t.dataSource.query(
      `UPDATE "SelectedCalendar" SET "channelId" = 'lapsed-channel', "channelExpiration" = now() - interval '5 minutes' WHERE "userId" = $1`,
      [other.userId],
    );

    const text = (await t.http.get('/metrics').expect(200)).text;
    const google = { provider: 'google_calendar' };
    expect(
      sample(text, 'calsync_http_request_duration_seconds_count', {
        route: '/api/v1/users/:userId',
        method: 'GET',
        status: '200',
      }),
    ).toBe(1);
    // The webhook routes are Fastify's own (webhooks.controller.ts), timed like the rest.
    expect(
      sample(text, 'calsync_http_request_duration_seconds_count', {
        route: '/api/webhooks/calendar-subscription/:provider',
        method: 'POST',
        status: '200',
      }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      sample(text, 'calsync_http_request_duration_seconds_count', { route: 'unmatched', status: '404' }),
    ).toBeGreaterThanOrEqual(1);
    expect(text).not.toContain(`route="/api/v1/users/${host.userId}"`);
    expect(sample(text, 'calsync_busy_time_duration_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(
      sample(text, 'calsync_provider_api_call_duration_seconds_count', { ...google, method: 'events.watch', result: 'ok' }),
    ).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'calsync_queue_jobs', { task: 'metrics-test-task', state: 'ready' })).toBe(1);
    expect(sample(text, 'calsync_queue_jobs', { task: 'metrics-test-task', state: 'scheduled' })).toBe(1);
    expect(sample(text, 'calsync_queue_jobs', { task: 'metrics-test-task', state: 'blocked' })).toBe(1);
    const age = sample(text, 'calsync_queue_oldest_job_age_seconds', { task: 'metrics-test-task' });
    expect(age).toBeGreaterThanOrEqual(600);
    expect(age).toBeLessThan(700);
    expect(sample(text, 'calsync_channels_in_renewal_window', google)).toBe(1);
    expect(sample(text, 'calsync_channels_expired', google)).toBe(1);
    const soonest = sample(text, 'calsync_channel_soonest_expiry_seconds', google);
    expect(soonest).toBeGreaterThan(3500);
    expect(soonest).toBeLessThanOrEqual(3600);
    expect(sample(text, 'calsync_calendars_in_error', google)).toBe(1);
    expect(text).toContain('calsync_webhook_deliveries_total');
    // Node's default metrics keep their stock names.
    expect(sample(text, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(text).toContain('nodejs_eventloop_lag_seconds');
    expect(text).not.toMatch(/^calsync_(process|nodejs)_/m);
    await t.dataSource.query(
      `DELETE FROM graphile_worker._private_jobs WHERE task_id = (SELECT id FROM graphile_worker._private_tasks WHERE identifier = 'metrics-test-task')`,
    );
    await t.dataSource.query(`DELETE FROM graphile_worker._private_job_queues WHERE queue_name = 'metrics-test-queue'`);
  });

  it('accepts the seed document’s feature-flag SQL verbatim, before user 123 and team 456 exist', async () => {
    const flags: Array<{ slug: string; enabled: boolean }> = await t.dataSource.query(
      `SELECT "slug", "enabled" FROM "Feature" ORDER BY "slug"`,
    );
    expect(flags).toEqual([
      { slug: 'calendar-subscription-cache', enabled: false },
      { slug: 'calendar-subscription-sync', enabled: false },
    ]);
    await t.dataSource.query(`
INSERT INTO "Feature" ("slug", "enabled", "description", "type", "stale", "lastUsedAt", "createdAt", "updatedAt", "updatedBy") 
VALUES ('calendar-subscription-cache', false, 'Allow calendar cache to be recorded and used through calendars.', 'OPERATIONAL', false, NULL, NOW(), NOW(), NULL) 
ON CONFLICT (slug) DO NOTHING;`);
    await t.dataSource.query(`
INSERT INTO "Feature" ("slug", "enabled", "description", "type", "stale", "lastUsedAt", "createdAt", "updatedAt", "updatedBy") 
VALUES ('calendar-subscription-sync', false, 'Enable calendar sync for all calendars globally.', 'OPERATIONAL', false, NULL, NOW(), NOW(), NULL) 
ON CONFLICT (slug) DO NOTHING;`);
    await t.dataSource.query(`
-- Enable calendar-subscription-cache for user ID 123  
INSERT INTO "UserFeatures" ("userId", "featureId", "assignedAt", "assignedBy", "updatedAt") 
VALUES (123, 'calendar-subscription-cache', NOW(), 'admin', NOW()) 
ON CONFLICT ("userId", "featureId") DO NOTHING;`);
    await t.dataSource.query(`
-- Enable calendar-subscription-sync for user ID 123
INSERT INTO "UserFeatures" ("userId", "featureId", "assignedAt", "assignedBy", "updatedAt") 
VALUES (123, 'calendar-subscription-sync', NOW(), 'admin', NOW()) 
ON CONFLICT ("userId", "featureId") DO NOTHING;`);
    await t.dataSource.query(`
-- Enable calendar-subscription-cache for team ID 456
INSERT INTO "TeamFeatures" ("teamId", "featureId", "assignedAt", "assignedBy", "updatedAt") 
VALUES (456, 'calendar-subscription-cache', NOW(), 'admin', NOW()) 
ON CONFLICT ("teamId", "featureId") DO NOTHING;

-- Enable calendar-subscription-sync for team ID 456
INSERT INTO "TeamFeatures" ("teamId", "featureId", "assignedAt", "assignedBy", "updatedAt") 
VALUES (456, 'calendar-subscription-sync', NOW(), 'admin', NOW()) 
ON CONFLICT ("teamId", "featureId") DO NOTHING;`);
    const users: Array<{ enabled: boolean }> = await t.dataSource.query(
      `SELECT "enabled" FROM "UserFeatures" WHERE "userId" = 123`,
    );
    expect(users).toEqual([{ enabled: true }, { enabled: true }]);
    const teams: Array<{ enabled: boolean }> = await t.dataSource.query(
      `SELECT "enabled" FROM "TeamFeatures" WHERE "teamId" = 456`,
    );
    expect(teams).toEqual([{ enabled: true }, { enabled: true }]);
    // Unknown ids are still unknown to the API; once the host application creates them, the rows apply.
    await t.admin.get('/api/v1/admin/features/calendar-subscription-cache/users/123').expect(404);
    const range = `start=${new Date(Date.now() + 86_400_000).toISOString()}&end=${new Date(Date.now() + 2 * 86_400_000).toISOString()}`;
    await t.api.get(`/api/v1/users/123/cached-events?${range}`).expect(404);
    await t.api.post('/api/v1/users').send({ id: 123, email: 'seed-user@example.com', timeZone: 'UTC' }).expect(201);
    await t.api.post('/api/v1/teams').send({ id: 456, name: 'Seed team' }).expect(201);
    await t.api.post('/api/v1/users').send({ id: 124, email: 'seed-member@example.com', timeZone: 'UTC' }).expect(201);
    await t.api.put('/api/v1/teams/456/members/124').expect(204);
    for (const slug of ['calendar-subscription-cache', 'calendar-subscription-sync']) {
      const user = await t.admin.get(`/api/v1/admin/features/${slug}/users/123`).expect(200);
      expect(user.body).toEqual({ enabled: true, reason: 'user' });
      const member = await t.admin.get(`/api/v1/admin/features/${slug}/users/124`).expect(200);
      expect(member.body).toEqual({ enabled: true, reason: 'team' });
    }
  });
});
