/**
 * `npm run demo`: a scripted tour on a fresh embedded database and the sandbox calendars, Google Calendar
 * first, then Outlook. For each: book, move the event in the calendar, see the booking rescheduled; rename
 * it, see the title follow; delete it, see the booking cancelled. Each step prints how long the change took
 * to arrive. The edits go through the sandboxes' control routes, as `curl` would send them by hand.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../src/bootstrap/create-app.js';
import { type SandboxAccount, startSandbox } from '../src/bootstrap/sandbox.js';
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

type Send = (method: string, url: string, body?: unknown) => Promise<{ status: number; text: string }>;

/** Plain HTTP through the global fetch (the Google sandbox). */
const sendHttp: Send = async (method, url, body) => {
  const res = await fetch(url, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, text: await res.text() };
};

/** HTTPS trusting the sandbox Outlook's own CA (Node 20's global fetch cannot take a CA; `curl --cacert` can). */
function httpsSender(agent: https.Agent): Send {
  return (method, url, body) =>
    new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = https.request(url, { method, agent, headers: payload ? { 'content-type': 'application/json' } : {} }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(payload);
    });
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'calsync-demo-'));
  const port = await freePort();
  step('Starting a fresh embedded PostgreSQL, the sandbox Google Calendar and the sandbox Outlook');
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
  const agent = new https.Agent({ ca: sandbox.microsoft?.caCertificate, keepAlive: true });
  detail(`calsync on ${config.appUrl}`);
  detail(
    `sandbox Google Calendar on ${sandbox.google?.url}, sandbox Outlook (Microsoft Graph, HTTPS) on ${sandbox.microsoft?.url}`,
  );

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
  const booking = (id: number) => call('GET', `/api/v1/bookings/${id}`);

  /** The same tour on one sandbox account: everything provider-specific comes from the account. */
  const tour = async (account: SandboxAccount, send: Send, renamePatch: (title: string) => unknown) => {
    const label = account.label;
    const control = async (method: string, eventId: string, body?: unknown) => {
      const path = account.eventPath
        .replace('{calendarId}', encodeURIComponent(account.calendarId))
        .replace('{eventId}', encodeURIComponent(eventId));
      const res = await send(method, `${account.controlBaseUrl}${path}`, body);
      if (res.status >= 400) throw new Error(`sandbox ${method} ${path} → ${res.status} ${res.text}`);
    };

    step(`${label}: create a host, connect the sandbox account ${account.email}, make its calendar the destination`);
    const user = await call('POST', '/api/v1/users', { email: account.email, name: `${label} host`, timeZone: 'Europe/Berlin' });
    const credential = await call('POST', `/api/v1/users/${user.id}/credentials`, {
      provider: account.provider,
      accessToken: account.accessToken,
      refreshToken: account.refreshToken,
      expiresAt: account.accessTokenExpiresAt,
    });
    await call('PUT', `/api/v1/users/${user.id}/destination-calendar`, {
      credentialId: credential.id,
      externalId: account.calendarId,
    });
    for (const flag of ['calendar-subscription-sync', 'calendar-subscription-cache']) {
      await call('PUT', `/api/v1/admin/features/${flag}/users/${user.id}`, { enabled: true }, config.adminApiKey);
    }
    const subscribed = await call('POST', '/api/v1/admin/tasks/subscribe-calendars/run', undefined, config.adminApiKey);
    detail(`user ${user.id}, credential ${credential.id}; channels opened: ${subscribed.result.watched}`);

    step(`${label}: book a 30-minute call`);
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
      const b = await booking(booked.id);
      return b.references[0] as { externalEventId: string } | undefined;
    });
    const eventId = written.value.externalEventId;
    detail(`booking ${booked.id} is in ${label} as event ${eventId} after ${written.ms.toFixed(0)} ms`);
    await new Promise((r) => setTimeout(r, 300)); // let the echo of the insert settle

    step(`${label}: drag the event two hours later`);
    const movedStart = new Date(start.getTime() + 2 * 3600_000).toISOString();
    const movedEnd = new Date(end.getTime() + 2 * 3600_000).toISOString();
    await control('PATCH', eventId, JSON.parse(account.moveBody.replace('{start}', movedStart).replace('{end}', movedEnd)));
    const moved = await waitFor(async () => {
      const b = await booking(booked.id);
      return b.startTime === movedStart ? b : undefined;
    });
    detail(`booking rescheduled to ${moved.value.startTime} — arrived in ${moved.ms.toFixed(0)} ms`);

    step(`${label}: rename the event`);
    await control('PATCH', eventId, renamePatch('Intro call (moved)'));
    const renamed = await waitFor(async () => {
      const b = await booking(booked.id);
      return b.title === 'Intro call (moved)' ? b : undefined;
    });
    detail(`booking title is now "${renamed.value.title}" — arrived in ${renamed.ms.toFixed(0)} ms`);

    step(`${label}: delete the event`);
    await control('DELETE', eventId);
    const cancelled = await waitFor(async () => {
      const b = await booking(booked.id);
      return b.status === 'cancelled' ? b : undefined;
    });
    detail(`booking cancelled ("${cancelled.value.cancellationReason}") — arrived in ${cancelled.ms.toFixed(0)} ms`);
    detail(
      `history: ${cancelled.value.history.map((h: { action: string; source: string }) => `${h.action}/${h.source}`).join(' → ')}`,
    );
  };

  try {
    if (sandbox.google) await tour(sandbox.google.account, sendHttp, (title) => ({ summary: title }));
    if (sandbox.microsoft) await tour(sandbox.microsoft.account, httpsSender(agent), (title) => ({ subject: title }));
  } finally {
    agent.destroy();
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
