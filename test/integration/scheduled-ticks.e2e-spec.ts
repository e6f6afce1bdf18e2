import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createApp } from '../../src/bootstrap/create-app.js';
import { freePort } from '../../emulators/free-port.js';
import { type TestApp, createTestApp } from '../support/create-test-app.js';
import { expectEventually } from '../support/expect-eventually.js';
import { connectGoogleHost } from '../support/fixtures.js';
import { enableFlagForUser, runTask, waitForQueueIdle } from '../support/sync-helpers.js';

const INTERVAL_S = 5;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Two instances on one database, both with the scheduler on: each scheduled tick runs the task
 * once, not once per instance (the safety-net resync lists every calendar once per interval).
 */
describe('scheduled tasks with two instances', () => {
  let t: TestApp;
  let sibling: NestFastifyApplication;

  beforeAll(async () => {
    t = await createTestApp({ env: { SCHEDULER_ENABLED: 'true', RESYNC_INTERVAL_SECONDS: String(INTERVAL_S) } });
    const port = await freePort();
    sibling = await createApp({ ...t.config, port, appUrl: `http://127.0.0.1:${port}` }, t.db.url);
    await sibling.listen(port, '127.0.0.1');
  }, 30_000);
  afterAll(async () => {
    await sibling?.close();
    await t.close();
  });

  it('resync-calendars lists each calendar once per tick, and a restart resyncs at once', async () => {
    const host = await connectGoogleHost(t);
    await enableFlagForUser(t, 'calendar-subscription-sync', host.userId);
    await runTask(t, 'subscribe-calendars');
    await waitForQueueIdle(t);
    const listings = () => t.google.calls.filter((c) => c.operation === 'events.list' && c.calendarId === host.calendarId).length;

    // A window of three ticks, starting a second after a boundary.
    const intervalMs = INTERVAL_S * 1000;
    await sleep(intervalMs - (Date.now() % intervalMs) + 1000);
    const before = listings();
    await sleep(3 * intervalMs);
    await waitForQueueIdle(t);
    expect(listings() - before).toBe(3);

    // A restarted instance does not wait for the next tick to fetch what changed while it was down.
    await sleep(intervalMs - (Date.now() % intervalMs) + 500);
    const beforeRestart = listings();
    await t.restart();
    // Well before the next tick (about 3.5 s away).
    await expectEventually(() => expect(listings() - beforeRestart).toBe(1), { timeoutMs: 2500, intervalMs: 20 });
  }, 60_000);
});
