import pg from 'pg';
import { ShutdownState } from '../../src/infrastructure/lifecycle/shutdown-state.js';
import { type TestApp, createTestApp } from '../support/create-test-app.js';
import { connectGoogleHost, slot } from '../support/fixtures.js';
import { waitForQueueIdle } from '../support/sync-helpers.js';

/**
 * Stopping an instance: readiness turns 503 before anything else, requests in flight still get
 * their answer, and jobs are finished or released so the next start has nothing half-done.
 */
describe('shutting down', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('readiness answers 503 as soon as the instance drains, while other requests are still served', async () => {
    await t.http.get('/health').expect(200);
    const host = await connectGoogleHost(t);
    t.app.get(ShutdownState).drain();
    for (const path of ['/health', '/health/ready']) {
      const draining = await t.http.get(path).expect(503);
      expect(draining.body).toMatchObject({ status: 'error', error: { shutdown: { status: 'down', draining: true } } });
    }
    // Alive all the same: an orchestrator must not kill it while it finishes its work.
    await t.http.get('/health/live').expect(200);
    // Still serving while it drains (a load balancer needs a moment to notice).
    const booking = await t.api
      .post('/api/v1/bookings')
      .send({ userId: host.userId, title: 'While draining', ...slot(6), attendees: [] })
      .expect(201);
    await waitForQueueIdle(t);
    await t.restart();
    expect((await t.http.get('/health').expect(200)).body).toMatchObject({ status: 'ok', info: { database: { status: 'up' } } });
    expect((await t.api.get(`/api/v1/bookings/${booking.body.id}`).expect(200)).body.references).toHaveLength(1);
  });

  it('a stop leaves no job locked and no worker registered', async () => {
    await t.stop();
    const client = new pg.Client({ connectionString: t.db.url });
    await client.connect();
    try {
      const locked = await client.query(
        `SELECT count(*)::text AS count FROM graphile_worker._private_jobs WHERE locked_by IS NOT NULL`,
      );
      const workers = await client.query(`SELECT count(*)::text AS count FROM "QueueWorker"`);
      expect([locked.rows[0].count, workers.rows[0].count]).toEqual(['0', '0']);
    } finally {
      await client.end();
    }
    await t.restart();
  });
});
