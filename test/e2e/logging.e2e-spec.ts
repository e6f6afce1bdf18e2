import { AsyncLocalStorage } from 'node:async_hooks';
import { jest } from '@jest/globals';
import { Writable } from 'node:stream';
import { type TestApp, createTestApp } from '../support/create-test-app.js';
import { expectEventually } from '../support/expect-eventually.js';
import { connectGoogleHost, slot } from '../support/fixtures.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';
import { afterPush, enableFlagForUser, getBooking, runTask, shifted, waitForQueueIdle } from '../support/sync-helpers.js';

/** Every line the app writes, as an operator's log collector would get them. */
class Capture extends Writable {
  readonly chunks: string[] = [];
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.chunks.push(chunk.toString('utf8'));
    done();
  }
  get text(): string {
    return this.chunks.join('');
  }
  /** Every line, or those written from the `from`th chunk on. */
  lines(from = 0): Array<Record<string, unknown>> {
    return this.chunks
      .slice(from)
      .join('')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }
}

/**
 * LOG_FORMAT=json: one JSON object per line with level, time and msg; request lines carry the
 * request id, job lines their job and calendar; no key, token or secret ever appears.
 */
describe('structured logs (LOG_FORMAT=json)', () => {
  const out = new Capture();
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ env: { LOG_FORMAT: 'json', LOG_LEVEL: 'log' }, logOutput: { destination: out } });
  });
  afterAll(async () => {
    await t.close();
  });

  it('writes one JSON object per line, with Nest’s route mapping kept out of the info level', () => {
    const lines = out.lines();
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) {
      expect(line).toEqual(
        expect.objectContaining({ level: expect.any(String), time: expect.any(String), msg: expect.any(String) }),
      );
    }
    expect(out.text).not.toMatch(/Mapped \{|RouterExplorer|RoutesResolver|InstanceLoader/);
  });

  it('logs a request under its request id, and none of the key, the tokens or the OAuth code', async () => {
    const accessToken = 'ya29.secret-access-token-in-a-body';
    const refreshToken = '1//secret-refresh-token-in-a-body';
    const user = await t.api.post('/api/v1/users').send({ email: 'logged@example.com', timeZone: 'UTC' }).expect(201);
    t.google.addAccount({ email: 'logged@example.com', accessToken, refreshToken });
    const created = await t.api
      .post(`/api/v1/users/${user.body.id}/credentials`)
      .set('x-request-id', 'log-test-request-1')
      .set('Cookie', 'session=secret-cookie-value')
      .send({ provider: 'google_calendar', accessToken, refreshToken, expiresAt: new Date(Date.now() + 3600_000).toISOString() })
      .expect(201);
    expect(created.headers['x-request-id']).toBe('log-test-request-1');
    // A callback URL carries the OAuth code and state in its query.
    await t.http.get('/api/v1/integrations/google_calendar/oauth/callback?code=secret-oauth-code&state=secret-oauth-state');

    await expectEventually(() => {
      const line = out.lines().find((l) => l.reqId === 'log-test-request-1' && l.res !== undefined);
      expect(line).toMatchObject({
        level: 'info',
        req: { method: 'POST', url: `/api/v1/users/${user.body.id}/credentials` },
        res: { statusCode: 201 },
      });
      expect(line?.msg).toMatch(/^POST \/api\/v1\/users\/\d+\/credentials 201 \d+ ms$/);
      expect(out.text).toContain('state=[redacted]');
    });
    for (const secret of [
      t.config.apiKey,
      t.config.adminApiKey,
      accessToken,
      refreshToken,
      'secret-cookie-value',
      'secret-oauth-code',
      'secret-oauth-state',
      t.config.google.clientSecret,
      t.config.encryptionKey.toString('hex'),
    ]) {
      expect(out.text).not.toContain(secret);
    }
  });

  it('puts jobId and calendarId on what a sync job logs', async () => {
    const host = await connectGoogleHost(t);
    await enableFlagForUser(t, 'calendar-subscription-sync', host.userId);
    await runTask(t, 'subscribe-calendars');
    const [calendar]: Array<{ id: number }> = await t.dataSource.query(`SELECT id FROM "SelectedCalendar" WHERE "userId" = $1`, [
      host.userId,
    ]);
    // Google refuses the next listing for good: the sync records the error and warns.
    t.google.faults.failNext({ status: 400, reason: 'invalid', message: 'logging test failure' });
    await t.admin.post(`/api/v1/admin/selected-calendars/${calendar.id}/resync`).expect(202);
    await expectEventually(() => {
      const line = out.lines().find((l) => typeof l.msg === 'string' && l.msg.startsWith(`Calendar ${calendar.id}: sync failed`));
      expect(line).toMatchObject({
        level: 'warn',
        context: 'SyncCalendar',
        calendarId: calendar.id,
        jobId: expect.stringMatching(/^\d+$/),
        task: 'sync-calendar',
      });
    });
    expect(out.text).not.toContain(host.refreshToken);
  });

  it('puts jobId and task on the job worker’s own line of a failed attempt; the attempt that then succeeds is no warning', async () => {
    const host = await connectGoogleHost(t);
    await enableFlagForUser(t, 'calendar-subscription-sync', host.userId);
    await runTask(t, 'subscribe-calendars');
    await waitForQueueIdle(t);
    const [calendar]: Array<{ id: number }> = await t.dataSource.query(`SELECT id FROM "SelectedCalendar" WHERE "userId" = $1`, [
      host.userId,
    ]);
    const from = out.chunks.length;
    const newLines = () => out.lines(from);
    // Google fails the next listing for a moment: the attempt fails and is retried.
    t.google.faults.failNext({ status: 503, reason: 'backendError', message: 'logging test outage', count: 5 });
    await t.admin.post(`/api/v1/admin/selected-calendars/${calendar.id}/resync`).expect(202);
    const failed = await expectEventually(() => {
      const line = newLines().find((l) => typeof l.msg === 'string' && l.msg.startsWith('Failed task'));
      expect(line).toMatchObject({
        level: 'warn',
        context: 'JobWorker',
        jobId: expect.stringMatching(/^\d+$/),
        task: 'sync-calendar',
        msg: expect.stringContaining('attempt 1 of'),
      });
      return line!;
    });
    expect(failed.msg).toContain(`Failed task ${failed.jobId as string} (sync-calendar,`);
    await expectEventually(
      async () =>
        expect(
          (await t.admin.get('/api/v1/admin/selected-calendars?limit=200').expect(200)).body.items.find(
            (c: { id: number }) => c.id === calendar.id,
          ),
        ).toMatchObject({ syncErrorCount: 0 }),
      { timeoutMs: 15_000 },
    );
    await waitForQueueIdle(t);
    expect(
      newLines().filter((l) => l.level === 'warn' && typeof l.msg === 'string' && l.msg.startsWith('Completed task')),
    ).toEqual([]);
  }, 30_000);

  it('puts jobId, endpointId and deliveryId on what a webhook delivery logs', async () => {
    const host = await connectGoogleHost(t);
    const receiver = await WebhookReceiver.start();
    try {
      receiver.respond = () => 410;
      const endpoint = await t.api.post('/api/v1/webhook-endpoints').send({ url: receiver.url }).expect(201);
      await t.api
        .post('/api/v1/bookings')
        .send({ userId: host.userId, title: 'Logged delivery', ...slot(5), attendees: [] })
        .expect(201);
      await expectEventually(() => {
        const line = out
          .lines()
          .find((l) => typeof l.msg === 'string' && l.msg.startsWith(`Webhook endpoint ${endpoint.body.id} answered 410`));
        expect(line).toMatchObject({
          level: 'warn',
          jobId: expect.stringMatching(/^\d+$/),
          task: 'deliver-webhooks',
          endpointId: endpoint.body.id,
          deliveryId: expect.anything(),
        });
      });
      expect(out.text).not.toContain(endpoint.body.secret);
    } finally {
      await receiver.stop();
    }
  });

  // On Node 20 a single entered AsyncLocalStorage context makes every promise of the process pay
  // async_hooks' promise hook from then on (push → rescheduled +3 ms at the median, webhook intake
  // a third slower): ids are written as fields instead, and Idempotency-Key travels as a ticket.
  it('enters no AsyncLocalStorage context for a request, a write job, a push or a sync', async () => {
    const run = jest.spyOn(AsyncLocalStorage.prototype, 'run');
    const enterWith = jest.spyOn(AsyncLocalStorage.prototype, 'enterWith');
    try {
      const host = await connectGoogleHost(t);
      await enableFlagForUser(t, 'calendar-subscription-sync', host.userId);
      await runTask(t, 'subscribe-calendars');
      const when = slot(4);
      const created = await t.api
        .post('/api/v1/bookings')
        .set('Idempotency-Key', 'no-async-context-1')
        .send({ userId: host.userId, title: 'No context', ...when, attendees: [{ email: 'guest@example.com' }] })
        .expect(201);
      const eventId = await expectEventually(async () => {
        const view = await getBooking(t, created.body.id);
        expect(view.references).toHaveLength(1);
        return view.references[0].externalEventId;
      });
      await waitForQueueIdle(t);
      const start = shifted(when.startTime, 60);
      const end = shifted(when.endTime, 60);
      await afterPush(t, () =>
        t.google.updateEvent(host.calendarId, eventId, { start: { dateTime: start }, end: { dateTime: end } }),
      );
      expect(await getBooking(t, created.body.id)).toMatchObject({ startTime: start, endTime: end });
      // The same key again: answered from the stored answer.
      await t.api
        .post('/api/v1/bookings')
        .set('Idempotency-Key', 'no-async-context-1')
        .send({ userId: host.userId, title: 'No context', ...when, attendees: [{ email: 'guest@example.com' }] })
        .expect(201)
        .expect('idempotent-replayed', 'true');
      expect(run).not.toHaveBeenCalled();
      expect(enterWith).not.toHaveBeenCalled();
    } finally {
      run.mockRestore();
      enterWith.mockRestore();
    }
  });
});
