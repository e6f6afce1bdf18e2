/**
 * `npm run demo`: a scripted tour on a fresh embedded database and the sandbox Google calendar.
 * Book, move the event in Google, see the booking rescheduled; rename it, see the title follow;
 * delete it, see the booking cancelled. Each step prints how long the change took to arrive.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../src/bootstrap/create-app.js';
import { startSandbox } from '../src/bootstrap/sandbox.js';
import { loadConfig } from '../src/config/load-config.js';
import { startEmbeddedDatabase } from '../src/infrastructure/database/embedded-database.js';
import { freePort } from '../emulators/free-port.js';

const step = (text: string) => process.stdout.write(`\n▸ ${text}\n`);
const detail = (text: string) => process.stdout.write(`    ${text}\n`);

async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  for (;;) {
    const value = await probe();
    if (value !== undefined) return { value, ms: performance.now() - started };
    if (performance.now() - started > timeoutMs) throw new Error('timed out waiting for the change to arrive');
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'calsync-demo-'));
  const port = await freePort();
  step('Starting a fresh embedded PostgreSQL and the sandbox Google Calendar');
  const database = await startEmbeddedDatabase({ dataDir, port: await freePort() });
  const base = loadConfig(
    {
      NODE_ENV: 'development',
      PORT: String(port),
      APP_URL: `http://127.0.0.1:${port}`,
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      QUEUE_POLL_INTERVAL_MS: '500',
    },
    { persistGeneratedSecrets: false },
  );
  const sandbox = await startSandbox(base);
  const config = sandbox.config;
  const app = await createApp(config, database.url);
  await app.listen(port, '127.0.0.1');
  detail(`calsync on ${config.appUrl}, sandbox Google on ${sandbox.googleUrl}`);

  const call = async (method: string, path: string, body?: unknown, key = config.apiKey) => {
    const res = await fetch(`${config.appUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${text}`);
    return text ? JSON.parse(text) : undefined;
  };
  const emulator = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${sandbox.googleUrl}__emulator/${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`emulator ${method} ${path} → ${res.status} ${await res.text()}`);
    return res.status === 204 ? undefined : res.json();
  };

  try {
    step('Create a host, connect the sandbox Google account, make its calendar the destination');
    const user = await call('POST', '/api/v1/users', {
      email: sandbox.account.email,
      name: 'Demo Host',
      timeZone: 'Europe/Berlin',
    });
    const credential = await call('POST', `/api/v1/users/${user.id}/credentials`, {
      provider: 'google_calendar',
      accessToken: sandbox.account.accessToken,
      refreshToken: sandbox.account.refreshToken,
      expiresAt: new Date(Date.now() + 3600_000).toISOString(),
    });
    await call('PUT', `/api/v1/users/${user.id}/destination-calendar`, {
      credentialId: credential.id,
      externalId: sandbox.account.email,
    });
    await call(
      'PUT',
      `/api/v1/admin/features/calendar-subscription-sync/users/${user.id}`,
      { enabled: true },
      config.adminApiKey,
    ).catch(async () => {
      // Before the admin flags API existed the flag was set the seed document's way.
      const { DataSource } = await import('typeorm');
      await app
        .get(DataSource)
        .query(
          `INSERT INTO "UserFeatures" ("userId", "featureId", "assignedAt", "assignedBy", "updatedAt") VALUES ($1, 'calendar-subscription-sync', NOW(), 'demo', NOW()) ON CONFLICT DO NOTHING`,
          [user.id],
        );
    });
    const subscribed = await call('POST', '/api/v1/admin/tasks/subscribe-calendars/run', undefined, config.adminApiKey);
    detail(`user ${user.id}, credential ${credential.id}; channels opened: ${subscribed.result.watched}`);

    step('Book a 30-minute call');
    const start = new Date(Date.now() + 2 * 86400_000);
    start.setUTCHours(10, 0, 0, 0);
    const end = new Date(start.getTime() + 30 * 60_000);
    const booked = await call('POST', '/api/v1/bookings', {
      userId: user.id,
      title: 'Intro call',
      startTime: start.toISOString(),
      endTime: end.toISOString(),
      attendees: [{ email: 'guest@example.com', name: 'Guest' }],
    });
    const written = await waitFor(async () => {
      const b = await call('GET', `/api/v1/bookings/${booked.id}`);
      return b.references[0] as { externalEventId: string } | undefined;
    });
    detail(`booking ${booked.id} is in Google as event ${written.value.externalEventId} after ${written.ms.toFixed(0)} ms`);
    const calendarPath = `calendars/${encodeURIComponent(sandbox.account.email)}/events/${written.value.externalEventId}`;
    await new Promise((r) => setTimeout(r, 300)); // let the echo of the insert settle

    step('Drag the event two hours later in Google Calendar');
    const movedStart = new Date(start.getTime() + 2 * 3600_000).toISOString();
    const movedEnd = new Date(end.getTime() + 2 * 3600_000).toISOString();
    await emulator('PATCH', calendarPath, { start: { dateTime: movedStart }, end: { dateTime: movedEnd } });
    const moved = await waitFor(async () => {
      const b = await call('GET', `/api/v1/bookings/${booked.id}`);
      return b.startTime === movedStart ? b : undefined;
    });
    detail(`booking rescheduled to ${moved.value.startTime} — arrived in ${moved.ms.toFixed(0)} ms`);

    step('Rename the event in Google Calendar');
    await emulator('PATCH', calendarPath, { summary: 'Intro call (moved)' });
    const renamed = await waitFor(async () => {
      const b = await call('GET', `/api/v1/bookings/${booked.id}`);
      return b.title === 'Intro call (moved)' ? b : undefined;
    });
    detail(`booking title is now "${renamed.value.title}" — arrived in ${renamed.ms.toFixed(0)} ms`);

    step('Delete the event in Google Calendar');
    await emulator('DELETE', calendarPath);
    const cancelled = await waitFor(async () => {
      const b = await call('GET', `/api/v1/bookings/${booked.id}`);
      return b.status === 'cancelled' ? b : undefined;
    });
    detail(`booking cancelled ("${cancelled.value.cancellationReason}") — arrived in ${cancelled.ms.toFixed(0)} ms`);
    detail(
      `history: ${cancelled.value.history.map((h: { action: string; source: string }) => `${h.action}/${h.source}`).join(' → ')}`,
    );

    step('Outlook');
    detail('Microsoft Graph is not wired in this build yet; the provider port is ready for it (see README).');
  } finally {
    await app.close();
    await sandbox.stop();
    await database.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
  process.stdout.write('\nDemo finished.\n');
}

main().catch((error: unknown) => {
  process.stderr.write(`demo failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
