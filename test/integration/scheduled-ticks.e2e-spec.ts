import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createApp } from '../../src/bootstrap/create-app.js';
import { freePort } from '../../emulators/free-port.js';
import { type TestApp, createTestApp } from '../support/create-test-app.js';
import { expectConsistently, expectEventually } from '../support/expect-eventually.js';
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

  it('resync-calendars lists each calendar once per tick', async () => {
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
  }, 60_000);
});

describe('a start', () => {
  let t: TestApp;

  beforeAll(async () => {
    // Ticks an hour apart: whatever syncs after the restart is the start's own resync.
    t = await createTestApp({ env: { SCHEDULER_ENABLED: 'true', RESYNC_INTERVAL_SECONDS: '3600' } });
  });
  afterAll(async () => {
    await t.close();
  });

  it('resyncs every subscribed calendar at once, not a tick later (changes made while it was down)', async () => {
    const host = await connectGoogleHost(t);
    await enableFlagForUser(t, 'calendar-subscription-sync', host.userId);
    await runTask(t, 'subscribe-calendars');
    await waitForQueueIdle(t);
    const listings = () => t.google.calls.filter((c) => c.operation === 'events.list' && c.calendarId === host.calendarId).length;
    const before = listings();
    await t.restart();
    await expectEventually(() => expect(listings() - before).toBe(1), { timeoutMs: 15_000, intervalMs: 20 });
    await expectConsistently(() => expect(listings() - before).toBe(1), { durationMs: 1000 });
  }, 40_000);
});
