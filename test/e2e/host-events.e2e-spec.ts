import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import pg from 'pg';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { AuditTrailModule } from '../../src/extensions/audit-trail/audit-trail.module.js';
import { TokenCipher } from '../../src/infrastructure/crypto/token-cipher.js';
import { HostEventRecorder } from '../../src/modules/host-events/index.js';
import { WEBHOOK_SHARDS, deliverWebhooksQueue } from '../../src/modules/host-events/host-events.jobs.js';
import { WebhookDeliveryJob } from '../../src/modules/host-events/webhook-delivery.job.js';
import { type TestApp, createTestApp } from '../support/create-test-app.js';
import { expectConsistently, expectEventually } from '../support/expect-eventually.js';
import { type Host, connectGoogleHost, slot } from '../support/fixtures.js';
import {
  type SyncedBooking,
  afterPush,
  bookAndSettle,
  enableFlagForUser,
  runTask,
  shifted,
  waitForQueueIdle,
} from '../support/sync-helpers.js';
import { type HookData, WebhookReceiver } from '../support/webhook-receiver.js';

const SYNC = 'calendar-subscription-sync';

/** Walks the change feed from `after` to its end. */
async function walkFeed(t: TestApp, after = '0', limit = 500) {
  const items: Array<{ id: string; type: string; timestamp: string; data: HookData }> = [];
  let cursor = after;
  for (;;) {
    const page = await t.api.get(`/api/v1/changes?after=${cursor}&limit=${limit}`).expect(200);
    expect(typeof page.body.nextCursor).toBe('string');
    if (page.body.items.length === 0) return { items, cursor };
    items.push(...page.body.items);
    cursor = page.body.nextCursor;
  }
}

describe('Host integration: signed outgoing webhooks, the change feed, the extension point', () => {
  let t: TestApp;
  const receivers: WebhookReceiver[] = [];

  const receiver = async () => {
    const r = await WebhookReceiver.start();
    receivers.push(r);
    return r;
  };
  const endpoint = async (url: string, body: Record<string, unknown> = {}) =>
    (
      await t.api
        .post('/api/v1/webhook-endpoints')
        .send({ url, ...body })
        .expect(201)
    ).body as {
      id: number;
      secret: string;
      enabled: boolean;
    };
  const book = async (host: Host, daysAhead = 3) =>
    (
      await t.api
        .post('/api/v1/bookings')
        .send({ userId: host.userId, title: 'Hooked', ...slot(daysAhead), attendees: [{ email: 'guest@example.com' }] })
        .expect(201)
    ).body as { id: number };

  beforeAll(async () => {
    t = await createTestApp({ extensions: [AuditTrailModule] });
  });
  afterEach(async () => {
    const list = await t.api.get('/api/v1/webhook-endpoints?limit=200').expect(200);
    for (const e of list.body.items) await t.api.delete(`/api/v1/webhook-endpoints/${e.id}`).expect(204);
    for (const r of receivers.splice(0)) await r.stop();
  });
  afterAll(async () => {
    await t.close();
  });

  it('manages endpoints: create shows the secret once, list/get/patch/rotate/delete', async () => {
    const r = await receiver();
    const created = await t.api
      .post('/api/v1/webhook-endpoints')
      .send({ url: r.url, events: ['booking.created', 'booking.cancelled'], description: 'CRM' })
      .expect(201);
    expect(created.body).toMatchObject({ url: r.url, events: ['booking.created', 'booking.cancelled'], enabled: true });
    expect(created.body.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(Buffer.from(created.body.secret.slice('whsec_'.length), 'base64').length).toBeGreaterThanOrEqual(24);
    const id = created.body.id;

    const got = await t.api.get(`/api/v1/webhook-endpoints/${id}`).expect(200);
    expect(got.body).toMatchObject({ id, url: r.url, description: 'CRM', enabled: true });
    expect(got.body).not.toHaveProperty('secret');
    expect(JSON.stringify(got.body)).not.toContain(created.body.secret.slice(6));

    const list = await t.api.get('/api/v1/webhook-endpoints').expect(200);
    expect(list.body.items.map((e: { id: number }) => e.id)).toContain(id);
    expect(list.body.nextCursor).toBeNull();
    expect(JSON.stringify(list.body)).not.toContain('whsec_');

    const patched = await t.api.patch(`/api/v1/webhook-endpoints/${id}`).send({ events: null, enabled: false }).expect(200);
    expect(patched.body).toMatchObject({ events: null, enabled: false });

    const rotated = await t.api.post(`/api/v1/webhook-endpoints/${id}/rotate-secret`).expect(200);
    expect(rotated.body.secret).toMatch(/^whsec_/);
    expect(rotated.body.secret).not.toBe(created.body.secret);
    const stored: Array<{ encryptedSecret: string }> = await t.dataSource.query(
      `SELECT "encryptedSecret" FROM "WebhookEndpoint" WHERE "id" = $1`,
      [id],
    );
    expect(stored[0].encryptedSecret).not.toContain(rotated.body.secret.slice(6));

    await t.api.delete(`/api/v1/webhook-endpoints/${id}`).expect(204);
    await t.api.get(`/api/v1/webhook-endpoints/${id}`).expect(404);
    await t.api.delete(`/api/v1/webhook-endpoints/${id}`).expect(404);
    await t.api.post(`/api/v1/webhook-endpoints/${id}/rotate-secret`).expect(404);
  });

  it('refuses bad input with 400, never 500', async () => {
    const bad = async (body: unknown, pattern: RegExp) => {
      const res = await t.api
        .post('/api/v1/webhook-endpoints')
        .send(body as object)
        .expect(400);
      expect(JSON.stringify(res.body)).toMatch(pattern);
    };
    await bad({}, /url/);
    await bad({ url: 'not a url' }, /absolute http or https URL/);
    await bad({ url: 'ftp://example.com/hook' }, /http or https/);
    await bad({ url: 'https://user:secret@example.com/hook' }, /must not carry a user name or password/);
    await bad({ url: 'http://example.com', events: ['booking.exploded'] }, /events/);
    await bad({ url: 'http://example.com', events: [] }, /events/);
    await bad({ url: 'http://example.com', secret: 'mine' }, /secret/);
    await t.api.get('/api/v1/webhook-endpoints/abc').expect(400);
    await t.api.get('/api/v1/webhook-endpoints?limit=0').expect(400);
    await t.api.get('/api/v1/webhook-endpoints?limit=201').expect(400);
    await t.api.get('/api/v1/changes?after=-1').expect(400);
    // An empty after= or limit= is the first page and the default size, as on every list.
    const fromStart = await t.api.get('/api/v1/changes').expect(200);
    expect((await t.api.get('/api/v1/changes?after=&limit=').expect(200)).body).toEqual(fromStart.body);
    expect((await t.api.get('/api/v1/webhook-endpoints?after=&limit=').expect(200)).body).toEqual(
      (await t.api.get('/api/v1/webhook-endpoints').expect(200)).body,
    );
    await t.api.get('/api/v1/changes?limit=abc').expect(400);
    await t.api.patch('/api/v1/webhook-endpoints/999999').send({ enabled: true }).expect(404);
    await t.api.patch('/api/v1/webhook-endpoints/1').send({ enabled: 'yes' }).expect(400);
    // An endpoint id cursor past 32 bits is a 400 as any id is (a delivery cursor is 64-bit).
    await t.api.get('/api/v1/webhook-endpoints?after=2147483648').expect(400);
    await t.api.get('/api/v1/webhook-endpoints?after=2147483647').expect(200);
    await t.http.get('/api/v1/webhook-endpoints').expect(401);
    await t.http.get('/api/v1/changes').expect(401);
    // Delivery ids are 64-bit: one past 32 bits is simply not found; past what a number holds, a 400.
    const { id } = await endpoint('https://93.184.215.14/hook');
    await t.api.post(`/api/v1/webhook-endpoints/${id}/deliveries/3000000000/redeliver`).expect(404);
    await t.api.post(`/api/v1/webhook-endpoints/${id}/deliveries/99999999999999999/redeliver`).expect(400);
    await t.api.get(`/api/v1/webhook-endpoints/${id}/deliveries?after=2147483648`).expect(200);
    // null is not "leave as is": a 400 that changes nothing.
    const before = (await t.api.get(`/api/v1/webhook-endpoints/${id}`).expect(200)).body;
    for (const field of ['enabled', 'url']) {
      const refused = await t.api
        .patch(`/api/v1/webhook-endpoints/${id}`)
        .send({ [field]: null })
        .expect(400);
      expect(refused.body.errors).toEqual([expect.objectContaining({ field })]);
    }
    expect((await t.api.get(`/api/v1/webhook-endpoints/${id}`).expect(200)).body).toEqual(before);
    await t.api.delete(`/api/v1/webhook-endpoints/${id}`).expect(204);
  });

  it('a booking created, rescheduled through the API, moved in Google and cancelled: 4 signed events in order, with source and changes', async () => {
    const host = await connectGoogleHost(t);
    await enableFlagForUser(t, SYNC, host.userId);
    await runTask(t, 'subscribe-calendars');
    await waitForQueueIdle(t);
    const r = await receiver();
    const { secret } = await endpoint(r.url);
    const feedStart = (await walkFeed(t)).cursor;

    const booking = await bookAndSettle(t, host);
    const api = { startTime: shifted(booking.startTime, 60), endTime: shifted(booking.endTime, 60) };
    await afterPush(t, () => t.api.post(`/api/v1/bookings/${booking.id}/reschedule`).send(api).expect(200));
    const moved = { startTime: shifted(booking.startTime, 180), endTime: shifted(booking.endTime, 180) };
    await afterPush(t, () =>
      t.google.updateEvent(host.calendarId, booking.eventId, {
        start: { dateTime: moved.startTime },
        end: { dateTime: moved.endTime },
      }),
    );
    await t.api.post(`/api/v1/bookings/${booking.id}/cancel`).send({ reason: 'No longer needed' }).expect(200);

    const mine = () => r.received.filter((h) => h.json.data.booking?.id === booking.id);
    await expectEventually(() => expect(mine()).toHaveLength(4), { timeoutMs: 15_000 });
    const hooks = mine();

    // Standard Webhooks' own verifier accepts every delivery, and refuses a tampered one.
    const verifier = new Webhook(secret);
    for (const hook of hooks) {
      expect(hook.headers['webhook-id']).toBe(hook.json.id);
      expect(hook.headers['webhook-timestamp']).toMatch(/^\d{10}$/);
      expect(hook.headers['webhook-signature']).toMatch(/^v1,/);
      expect(() => verifier.verify(hook.body, hook.headers as Record<string, string>)).not.toThrow();
    }
    const tampered = hooks[0].body.replace('"booking.created"', '"booking.cancelled"');
    expect(() => verifier.verify(tampered, hooks[0].headers as Record<string, string>)).toThrow();
    expect(() =>
      new Webhook(`whsec_${Buffer.alloc(32, 1).toString('base64')}`).verify(
        hooks[0].body,
        hooks[0].headers as Record<string, string>,
      ),
    ).toThrow();

    expect(hooks.map((h) => [h.json.type, h.json.data.source])).toEqual([
      ['booking.created', 'api'],
      ['booking.rescheduled', 'api'],
      ['booking.rescheduled', 'google_calendar'],
      ['booking.cancelled', 'api'],
    ]);
    expect(hooks[0].json.data.changes).toEqual({
      startTime: { from: null, to: booking.startTime },
      endTime: { from: null, to: booking.endTime },
    });
    expect(hooks[1].json.data.changes).toEqual({
      startTime: { from: booking.startTime, to: api.startTime },
      endTime: { from: booking.endTime, to: api.endTime },
    });
    expect(hooks[2].json.data.changes).toEqual({
      startTime: { from: api.startTime, to: moved.startTime },
      endTime: { from: api.endTime, to: moved.endTime },
    });
    expect(hooks[3].json.data.changes).toEqual({
      status: { from: 'accepted', to: 'cancelled' },
      cancellationReason: { from: null, to: 'No longer needed' },
    });
    // Each carries the booking as the change left it (the GET view without history).
    expect(hooks[1].json.data.booking).toMatchObject({ status: 'accepted', ...api });
    expect(hooks[2].json.data.booking).toMatchObject({ status: 'accepted', ...moved });
    const final = (await t.api.get(`/api/v1/bookings/${booking.id}`).expect(200)).body;
    // (its calendar event is deleted afterwards, by the calendar write: the reference goes then)
    const { history: _history, references: _references, ...rest } = final;
    expect(hooks[3].json.data.booking).toEqual({ ...rest, references: hooks[2].json.data.booking.references });
    expect(hooks[3].json.data.booking.references).toHaveLength(1);
    expect(hooks[0].json.data.booking.references).toEqual([]);
    expect(hooks[3].json.data.booking).not.toHaveProperty('history');

    // The change feed has the same events, with the same ids, in the same order.
    const feed = (await walkFeed(t, feedStart)).items.filter((e) => e.data.booking?.id === booking.id);
    expect(feed.map((e) => e.id)).toEqual(hooks.map((h) => h.json.id));
    expect(feed.map((e) => e.type)).toEqual(hooks.map((h) => h.json.type));

    // The example extension recorded both reschedules, once each.
    await expectEventually(async () => {
      const trail = await t.api.get(`/api/v1/extensions/audit-trail/bookings/${booking.id}/reschedules`).expect(200);
      expect(trail.body.items.map((i: { source: string; to: string }) => [i.source, i.to])).toEqual([
        ['api', api.startTime],
        ['google_calendar', moved.startTime],
      ]);
      expect(trail.body.items.map((i: { eventId: string }) => i.eventId)).toEqual([hooks[1].json.id, hooks[2].json.id]);
    });

    const metrics = await t.http.get('/metrics').expect(200);
    expect(metrics.text).toMatch(/calsync_webhook_deliveries_total\{result="delivered"\} [1-9]/);
    expect(metrics.text).toMatch(/calsync_webhook_delivery_latency_seconds_count [1-9]/);
    expect(metrics.text).toMatch(/calsync_webhook_backlog\{endpoint="\d+"\} 0/);
  });

  // A reschedule's, a cancellation's and a detail change's event build the booking in SQL, in the
  // statement that writes the change's history (one round trip); a creation's reads the view first.
  // Both must be the API's view, field for field: nulls, a pending change, attendees, references,
  // the times to the millisecond.
  it("each event's booking is the booking as GET shows it right after the change, field for field", async () => {
    const host = await connectGoogleHost(t);
    await enableFlagForUser(t, SYNC, host.userId);
    await runTask(t, 'subscribe-calendars');
    await waitForQueueIdle(t);
    const feedStart = (await walkFeed(t)).cursor;
    const booking = await bookAndSettle(t, host, 6, {
      attendees: [{ email: 'b@example.com', name: 'B' }, { email: 'a@example.com' }],
    });
    const view = async () => {
      const { history: _history, ...rest } = (await t.api.get(`/api/v1/bookings/${booking.id}`).expect(200)).body;
      return rest as Record<string, unknown>;
    };
    const lastEvent = async (type: string) => {
      const events = (await walkFeed(t, feedStart)).items.filter((e) => e.type === type && e.data.booking?.id === booking.id);
      return events.at(-1)?.data.booking;
    };
    const created = await view();
    // (the event went out before the calendar write added the reference)
    expect(await lastEvent('booking.created')).toEqual({ ...created, references: [], updatedAt: expect.any(String) });

    // A pending change on the booking (as the flag policy leaves one), then a rename in Google.
    const pending = {
      startTime: shifted(booking.startTime, 30),
      endTime: shifted(booking.endTime, 30),
      source: 'google_calendar',
    };
    await t.dataSource.query(`UPDATE "Booking" SET "pendingChange" = $2 WHERE "id" = $1`, [booking.id, pending]);
    await afterPush(t, () => t.google.updateEvent(host.calendarId, booking.eventId, { summary: 'Renamed in Google' }));
    const updated = await view();
    expect(updated).toMatchObject({ title: 'Renamed in Google', pendingChange: pending, description: null, location: null });
    expect(await lastEvent('booking.updated')).toEqual(updated);

    const api = { startTime: shifted(booking.startTime, 120), endTime: shifted(booking.endTime, 120) };
    await t.api.post(`/api/v1/bookings/${booking.id}/reschedule`).send(api).expect(200);
    expect(await lastEvent('booking.rescheduled')).toEqual(await view());
    await waitForQueueIdle(t);
  });

  it('retries after a 500 with the same webhook-id, then succeeds', async () => {
    const host = await connectGoogleHost(t);
    const r = await receiver();
    r.respond = (_hook, index) => (index === 0 ? 500 : 200);
    const { id, secret } = await endpoint(r.url, { events: ['booking.created'] });
    await book(host);
    await expectEventually(() => expect(r.received).toHaveLength(2), { timeoutMs: 15_000, intervalMs: 100 });
    expect(r.received[1].headers['webhook-id']).toBe(r.received[0].headers['webhook-id']);
    expect(r.received[1].body).toBe(r.received[0].body);
    expect(() => new Webhook(secret).verify(r.received[1].body, r.received[1].headers as Record<string, string>)).not.toThrow();
    await expectEventually(async () => {
      const log = await t.api.get(`/api/v1/webhook-endpoints/${id}/deliveries`).expect(200);
      expect(log.body.items[0]).toMatchObject({
        eventId: r.received[0].json.id,
        type: 'booking.created',
        status: 'delivered',
        attempts: 2,
        lastStatusCode: 200,
        lastError: null,
        nextAttemptAt: null,
      });
      expect(log.body.items[0].deliveredAt).toEqual(expect.any(String));
    });
  });

  it("a booking waiting for its retry holds its own later events, and only those: other bookings' events go out meanwhile", async () => {
    const host = await connectGoogleHost(t);
    const r = await receiver();
    let failedOnce = false;
    let waiting: number | null = null;
    r.respond = (hook) => {
      if (!failedOnce && hook.json.type === 'booking.rescheduled' && hook.json.data.booking.id === waiting) {
        failedOnce = true;
        return 500;
      }
      return 204;
    };
    await endpoint(r.url, { events: ['booking.created', 'booking.rescheduled'] });
    const a = await book(host, 3);
    waiting = a.id;
    // a's first move fails once (its retry comes after about 5 s); its second move must wait for it.
    await t.api.post(`/api/v1/bookings/${a.id}/reschedule`).send(slot(4)).expect(200);
    await t.api.post(`/api/v1/bookings/${a.id}/reschedule`).send(slot(5)).expect(200);
    // Bookings on every shard (ids modulo 4), one of them on a's.
    const others = [await book(host, 6), await book(host, 7), await book(host, 8), await book(host, 9)];
    const ofBooking = (id: number) => r.received.filter((h) => h.json.data.booking.id === id);
    await expectEventually(() => {
      for (const other of others) expect(ofBooking(other.id)).toHaveLength(1);
    });
    // Well before the first retry (5 s ± 25 %): a's second move has not overtaken its first.
    expect(failedOnce).toBe(true);
    const aTypes = () => ofBooking(a.id).map((h) => `${h.json.type}@${h.json.data.booking.startTime}`);
    expect(aTypes()).toEqual([`booking.created@${slot(3).startTime}`, `booking.rescheduled@${slot(4).startTime}`]);
    await expectEventually(
      () =>
        expect(aTypes()).toEqual([
          `booking.created@${slot(3).startTime}`,
          `booking.rescheduled@${slot(4).startTime}`,
          `booking.rescheduled@${slot(4).startTime}`,
          `booking.rescheduled@${slot(5).startTime}`,
        ]),
      { timeoutMs: 15_000, intervalMs: 100 },
    );
  });

  it('once everything is delivered, no drain is left queued or running', async () => {
    const host = await connectGoogleHost(t);
    const r = await receiver();
    const { id } = await endpoint(r.url, { events: ['booking.created', 'booking.rescheduled'] });
    const booking = await book(host);
    await t.api.post(`/api/v1/bookings/${booking.id}/reschedule`).send(slot(4)).expect(200);
    await expectEventually(() => expect(r.received).toHaveLength(2));
    // This endpoint's drains (one queue per shard). A drain superseded by its successor while it
    // ran is kept by graphile-worker, out of attempts: not counted.
    const drainsLeft = async () =>
      Number(
        (
          await t.dataSource.query(
            `SELECT count(*)::int AS n FROM graphile_worker.jobs
              WHERE task_identifier = 'deliver-webhooks' AND attempts < max_attempts AND queue_name = ANY($1)`,
            [Array.from({ length: WEBHOOK_SHARDS }, (_, shard) => deliverWebhooksQueue(id, shard))],
          )
        )[0].n,
      );
    await expectEventually(async () => expect(await drainsLeft()).toBe(0));
    await expectConsistently(async () => expect(await drainsLeft()).toBe(0), { durationMs: 1000 });
    expect(r.received).toHaveLength(2);
  });

  /**
   * A booking's first delivery fails once (its retry due in ~5 s), and the run queued for that retry
   * is removed: what a process killed between recording the failure and queueing its successor
   * leaves, or a drain job gone for good. (Polled: the successor is queued a moment after the failure.)
   */
  async function firstDeliveryFailedWithNoRunComing() {
    const host = await connectGoogleHost(t);
    const r = await receiver();
    r.respond = (_hook, index) => (index === 0 ? 500 : 204);
    const { id } = await endpoint(r.url, { events: ['booking.created'] });
    const booking = await book(host);
    const shard = booking.id % WEBHOOK_SHARDS;
    await expectEventually(async () => {
      const log = await t.api.get(`/api/v1/webhook-endpoints/${id}/deliveries`).expect(200);
      expect(log.body.items[0]).toMatchObject({ status: 'pending', attempts: 1, lastStatusCode: 500 });
    });
    const deliveries = t.app.get(WebhookDeliveryJob);
    // Nothing overdue yet: the retry is due in ~5 s and its run is queued.
    expect(await deliveries.sweepOverdue()).toBe(0);
    await expectEventually(async () =>
      expect(
        await t.dataSource.query(`SELECT id FROM graphile_worker.remove_job($1)`, [deliverWebhooksQueue(id, shard)]),
      ).toHaveLength(1),
    );
    return { r, id, shard, deliveries };
  }

  const expectRetriedAndDelivered = async (r: WebhookReceiver, id: number) => {
    await expectEventually(() => expect(r.received).toHaveLength(2), { timeoutMs: 15_000, intervalMs: 100 });
    expect(r.received[1].headers['webhook-id']).toBe(r.received[0].headers['webhook-id']);
    await expectEventually(async () => {
      const log = await t.api.get(`/api/v1/webhook-endpoints/${id}/deliveries`).expect(200);
      expect(log.body.items[0]).toMatchObject({ status: 'delivered', attempts: 2, lastStatusCode: 204 });
    });
  };

  it('a drain that died after recording a failure, before queueing its retry: the retry still goes out when it runs again', async () => {
    const { r, id, shard, deliveries } = await firstDeliveryFailedWithNoRunComing();
    // The dead drain's own job, released by a live worker, runs again at once.
    await deliveries.drain(id, shard);
    await expectRetriedAndDelivered(r, id);
  });

  it("the minute's sweep takes a delivery overdue with no run coming for it", async () => {
    const { r, id, deliveries } = await firstDeliveryFailedWithNoRunComing();
    // The retry long due (say, its drain job out of attempts while the database was away).
    await t.dataSource.query(
      `UPDATE "WebhookDelivery" SET "nextAttemptAt" = now() - interval '2 minutes' WHERE "endpointId" = $1`,
      [id],
    );
    await expectConsistently(() => expect(r.received).toHaveLength(1), { durationMs: 1000 });
    expect(await deliveries.sweepOverdue()).toBe(1);
    await expectRetriedAndDelivered(r, id);
    expect(await deliveries.sweepOverdue()).toBe(0);
  });

  it('a 410 disables the endpoint', async () => {
    const host = await connectGoogleHost(t);
    const r = await receiver();
    r.respond = () => 410;
    const { id } = await endpoint(r.url);
    await book(host);
    await expectEventually(async () => {
      const e = await t.api.get(`/api/v1/webhook-endpoints/${id}`).expect(200);
      expect(e.body.enabled).toBe(false);
      expect(e.body.disabledReason).toMatch(/410/);
    });
    const log = await t.api.get(`/api/v1/webhook-endpoints/${id}/deliveries`).expect(200);
    expect(log.body.items[0]).toMatchObject({ status: 'failed', lastStatusCode: 410 });
    const count = r.received.length;
    await book(host, 4);
    await expectConsistently(() => expect(r.received).toHaveLength(count), { durationMs: 700 });
    // Redelivering to a disabled endpoint is refused until it is enabled again.
    await t.api.post(`/api/v1/webhook-endpoints/${id}/deliveries/${log.body.items[0].id}/redeliver`).expect(409);
    // Enabled again, the endpoint gets the event its 410 answered, and only that: the booking made
    // while it was disabled is not sent to it (the change feed has it).
    r.respond = () => 204;
    await t.api.patch(`/api/v1/webhook-endpoints/${id}`).send({ enabled: true }).expect(200);
    await expectEventually(() => expect(r.received).toHaveLength(count + 1));
    expect(r.received.at(-1)?.headers['webhook-id']).toBe(log.body.items[0].eventId);
    await expectConsistently(() => expect(r.received).toHaveLength(count + 1), { durationMs: 700 });
    const after = await t.api.get(`/api/v1/webhook-endpoints/${id}/deliveries`).expect(200);
    expect(after.body.items[0]).toMatchObject({ id: log.body.items[0].id, status: 'delivered' });
  });

  it('enabled again after a 410, an endpoint gets the answered event and then the later ones of its booking that were waiting, in order', async () => {
    const host = await connectGoogleHost(t);
    const r = await receiver();
    // The created event fails once (503), so the rescheduled one waits behind it; its retry gets the 410.
    r.respond = (_hook, index) => (index === 0 ? 503 : 410);
    const { id } = await endpoint(r.url);
    const { id: bookingId } = await book(host);
    await expectEventually(() => expect(r.received).toHaveLength(1));
    await t.api.post(`/api/v1/bookings/${bookingId}/reschedule`).send(slot(6)).expect(200);
    await expectEventually(
      async () => {
        const e = await t.api.get(`/api/v1/webhook-endpoints/${id}`).expect(200);
        expect(e.body).toMatchObject({ enabled: false, disabledReason: expect.stringMatching(/410/) });
      },
      { timeoutMs: 15_000 },
    );
    const log = await t.api.get(`/api/v1/webhook-endpoints/${id}/deliveries`).expect(200);
    const byType = (items: Array<{ type: string; status: string; eventId: string }>) =>
      Object.fromEntries(items.map((d) => [d.type, d]));
    expect(byType(log.body.items)).toMatchObject({
      'booking.created': { status: 'failed', lastStatusCode: 410 },
      'booking.rescheduled': { status: 'pending' },
    });
    expect(r.received.map((h) => h.json.type)).toEqual(['booking.created', 'booking.created']);

    r.respond = () => 204;
    await t.api.patch(`/api/v1/webhook-endpoints/${id}`).send({ enabled: true }).expect(200);
    await expectEventually(() => expect(r.received).toHaveLength(4));
    expect(r.received.slice(2).map((h) => h.headers['webhook-id'])).toEqual([
      byType(log.body.items)['booking.created'].eventId,
      byType(log.body.items)['booking.rescheduled'].eventId,
    ]);
    const after = await t.api.get(`/api/v1/webhook-endpoints/${id}/deliveries`).expect(200);
    expect((after.body.items as Array<{ status: string }>).map((d) => d.status)).toEqual(['delivered', 'delivered']);
  });

  it('enabled again, an endpoint does not get back a 410 of an older incident whose booking went on since', async () => {
    const host = await connectGoogleHost(t);
    const r = await receiver();
    const { id } = await endpoint(r.url);
    const { id: bookingId } = await book(host);
    await t.api.post(`/api/v1/bookings/${bookingId}/reschedule`).send(slot(5)).expect(200);
    await expectEventually(() => expect(r.received).toHaveLength(2));
    // An older incident: the created event once answered 410; the booking's stream went on since.
    const log = await t.api.get(`/api/v1/webhook-endpoints/${id}/deliveries`).expect(200);
    const created = (log.body.items as Array<{ id: string; type: string }>).find((d) => d.type === 'booking.created')!;
    await t.dataSource.query(`UPDATE "WebhookDelivery" SET "status" = 'failed', "lastStatusCode" = 410 WHERE "id" = $1`, [
      created.id,
    ]);
    await t.api.patch(`/api/v1/webhook-endpoints/${id}`).send({ enabled: false }).expect(200);
    await t.api.patch(`/api/v1/webhook-endpoints/${id}`).send({ enabled: true }).expect(200);
    await expectConsistently(() => expect(r.received).toHaveLength(2), { durationMs: 700 });
    const after = await t.api.get(`/api/v1/webhook-endpoints/${id}/deliveries`).expect(200);
    expect((after.body.items as Array<{ id: string; status: string }>).find((d) => d.id === created.id)?.status).toBe('failed');
  });

  it('the backlog gauge counts what waits for enabled endpoints only', async () => {
    const host = await connectGoogleHost(t);
    const r = await receiver();
    r.respond = () => 503;
    const { id } = await endpoint(r.url, { events: ['booking.created'] });
    await book(host);
    await expectEventually(() => expect(r.received.length).toBeGreaterThan(0));
    const series = new RegExp(`^calsync_webhook_backlog\\{endpoint="${id}"\\} (\\d+)$`, 'm');
    const scraped = (await t.http.get('/metrics').expect(200)).text;
    expect(Number(series.exec(scraped)?.[1])).toBe(1);
    // Disabled on purpose: the delivery still waits, but nothing is sent to it, so it is no backlog.
    await t.api.patch(`/api/v1/webhook-endpoints/${id}`).send({ enabled: false }).expect(200);
    expect((await t.http.get('/metrics').expect(200)).text).not.toMatch(series);
    const log = await t.api.get(`/api/v1/webhook-endpoints/${id}/deliveries`).expect(200);
    expect(log.body.items[0]).toMatchObject({ status: 'pending' });
  });

  it('a hanging endpoint does not delay another one', async () => {
    const host = await connectGoogleHost(t);
    const dead = await receiver();
    dead.respond = () => 'hang';
    const alive = await receiver();
    await endpoint(dead.url, { events: ['booking.created'] });
    await endpoint(alive.url, { events: ['booking.created'] });
    const ids: number[] = [];
    for (let i = 0; i < 8; i++) ids.push((await book(host, 5 + i)).id);
    await expectEventually(() => expect(alive.received).toHaveLength(8), { timeoutMs: 9_000 });
    expect(alive.received.map((h) => h.json.data.booking.id).sort()).toEqual([...ids].sort());
    // Everything reached the live endpoint while the first attempt at the hanging one was still
    // waiting for an answer (it is abandoned after 10 s).
    expect(dead.received.length).toBeGreaterThan(0);
    expect(Math.max(...alive.received.map((h) => h.receivedAt)) - dead.received[0].receivedAt).toBeLessThan(10_000);
    const stuck: Array<{ attempts: number }> = await t.dataSource.query(
      `SELECT d."attempts" FROM "WebhookDelivery" d JOIN "WebhookEndpoint" w ON w."id" = d."endpointId" WHERE w."url" = $1`,
      [dead.url],
    );
    expect(stuck.some((d) => d.attempts === 0)).toBe(true);
    expect(dead.received.length).toBeLessThanOrEqual(4); // at most one stream per shard is stuck on it
  });

  /**
   * An endpoint at an address that answers nothing, then everything: while `dead`, each connection
   * is dropped before any answer (as a crashed receiver behind a proxy); otherwise 204.
   */
  const dropper = async () => {
    const state = { dead: true, received: [] as Array<{ bookingId: number }> };
    const server = createServer((req, res) => {
      if (state.dead) {
        req.socket.destroy();
        return;
      }
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        state.received.push({ bookingId: (JSON.parse(body) as { data: { booking: { id: number } } }).data.booking.id });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
    closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    return { state, url };
  };
  const closers: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const close of closers.splice(0)) await close();
  });
  const pauseOf = async (id: number) =>
    (
      (await t.dataSource.query(`SELECT "failingSince", "backoffUntil" FROM "WebhookEndpoint" WHERE "id" = $1`, [id])) as Array<{
        failingSince: Date | null;
        backoffUntil: Date | null;
      }>
    )[0];
  const pausedAgain = (id: number) =>
    expectEventually(async () => {
      const now = await pauseOf(id);
      expect(now.backoffUntil).not.toBeNull();
      return now as { failingSince: Date; backoffUntil: Date };
    });
  const deliveriesOf = async (id: number) =>
    (await t.api.get(`/api/v1/webhook-endpoints/${id}/deliveries?limit=50`).expect(200)).body.items as Array<{
      id: number;
      status: string;
      attempts: number;
      lastStatusCode: number | null;
      lastError: string | null;
      nextAttemptAt: string | null;
    }>;

  it('an endpoint that answers nothing is paused as a whole, longer the longer it fails; its first answer ends the pause for every shard', async () => {
    const host = await connectGoogleHost(t);
    const dead = await dropper();
    const { id } = await endpoint(dead.url, { events: ['booking.created'] });
    const alive = await receiver();
    await endpoint(alive.url, { events: ['booking.created'] });

    const warned = jest.spyOn(Logger.prototype, 'warn');
    const first = await book(host, 5);
    const firstPause = await pausedAgain(id);
    // Operators are told once, when the pause starts.
    const pausedLines = () =>
      warned.mock.calls
        .map(([line]) => line as { msg?: string; endpointId?: number })
        .filter((line) => line.msg?.startsWith(`Webhook endpoint ${id} answers nothing`));
    expect(pausedLines()).toEqual([
      expect.objectContaining({ endpointId: id, msg: expect.stringContaining('deliveries to it paused for') }),
    ]);
    // Its first pause is the first retry's delay, 5 s ± 25 %.
    const firstPauseMs = firstPause.backoffUntil.getTime() - firstPause.failingSince.getTime();
    expect(firstPauseMs).toBeGreaterThanOrEqual(3_700);
    expect(firstPauseMs).toBeLessThanOrEqual(6_300);
    // As if it had been failing for a while: its pause is long now.
    await t.dataSource.query(`UPDATE "WebhookEndpoint" SET "backoffUntil" = now() + interval '60 seconds' WHERE "id" = $1`, [id]);
    const pausedUntil = (await pauseOf(id)).backoffUntil!;

    // Bookings made meanwhile reach the live endpoint at once; the paused one is not even tried.
    const later: number[] = [];
    for (let i = 0; i < 5; i++) later.push((await book(host, 6 + i)).id);
    await expectEventually(() => expect(alive.received).toHaveLength(6));
    await expectConsistently(
      async () => {
        const items = await deliveriesOf(id);
        expect(items).toHaveLength(6);
        const untried = items.filter((d) => d.attempts === 0);
        expect(untried).toHaveLength(5);
        // What the deliveries API says of when they go out: the pause's end.
        for (const d of untried) expect(Date.parse(d.nextAttemptAt!)).toBe(pausedUntil.getTime());
        expect(items.find((d) => d.attempts === 1)).toMatchObject({ lastStatusCode: null, lastError: expect.any(String) });
      },
      { durationMs: 1_000 },
    );
    // The minute's sweep does not take a paused delivery for an overdue one.
    await t.dataSource.query(
      `UPDATE "WebhookDelivery" SET "nextAttemptAt" = now() - interval '5 minutes' WHERE "endpointId" = $1`,
      [id],
    );
    expect(await t.app.get(WebhookDeliveryJob).sweepOverdue()).toBe(0);

    // A redelivery tries it at once; still nobody there, so it pauses again, as long as it has been failing.
    await t.dataSource.query(`UPDATE "WebhookEndpoint" SET "failingSince" = now() - interval '40 seconds' WHERE "id" = $1`, [id]);
    const firstDelivery = (await deliveriesOf(id)).find((d) => d.attempts === 1)!;
    await t.api.post(`/api/v1/webhook-endpoints/${id}/deliveries/${firstDelivery.id}/redeliver`).expect(202);
    await expectEventually(async () => expect((await deliveriesOf(id)).find((d) => d.id === firstDelivery.id)?.attempts).toBe(2));
    const secondPause = await pausedAgain(id);
    const pausedAt = Date.now();
    const secondPauseMs = secondPause.backoffUntil.getTime() - pausedAt;
    expect(secondPauseMs).toBeGreaterThan(25_000);
    expect(secondPauseMs).toBeLessThanOrEqual(1.25 * (pausedAt - secondPause.failingSince.getTime()));

    // The receiver is back: a redelivery gets an answer, which ends the pause, and every shard's
    // drain is woken: everything arrives long before the pause would have ended.
    dead.state.dead = false;
    await t.api.post(`/api/v1/webhook-endpoints/${id}/deliveries/${firstDelivery.id}/redeliver`).expect(202);
    await expectEventually(
      () => expect(dead.state.received.map((r) => r.bookingId).sort()).toEqual([first.id, ...later].sort()),
      {
        timeoutMs: 12_000,
      },
    );
    expect(Date.now()).toBeLessThan(secondPause.backoffUntil.getTime());
    expect(await pauseOf(id)).toEqual({ failingSince: null, backoffUntil: null });
    // The second pause was of the same failing spell: nothing more was logged.
    expect(pausedLines()).toHaveLength(1);
    warned.mockRestore();
  }, 40_000);

  it('a paused endpoint moved to a new address gets what waits at once, its retries included', async () => {
    const host = await connectGoogleHost(t);
    const dead = await dropper();
    const { id } = await endpoint(dead.url, { events: ['booking.created'] });
    const booked = [(await book(host, 5)).id];
    await pausedAgain(id);
    booked.push((await book(host, 6)).id);
    // A PATCH that names the same address changes nothing.
    await t.api.patch(`/api/v1/webhook-endpoints/${id}`).send({ url: dead.url, description: 'same place' }).expect(200);
    expect((await pauseOf(id)).backoffUntil).not.toBeNull();

    const fixed = await receiver();
    await t.api.patch(`/api/v1/webhook-endpoints/${id}`).send({ url: fixed.url }).expect(200);
    expect(await pauseOf(id)).toEqual({ failingSince: null, backoffUntil: null });
    // The delivery that failed waits for no retry (3.75 s at least) at the new address.
    for (const d of await deliveriesOf(id))
      if (d.nextAttemptAt) expect(Date.parse(d.nextAttemptAt)).toBeLessThanOrEqual(Date.now() + 50);
    await expectEventually(() => expect(fixed.received.map((h) => h.json.data.booking.id).sort()).toEqual([...booked].sort()), {
      timeoutMs: 3_000,
    });
  });

  it('an endpoint moved while a round to its old address is under way: the old address answering nothing, or 410, neither pauses nor disables it, and the delivery goes to the new one at once', async () => {
    const host = await connectGoogleHost(t);
    for (const [i, oldAnswer] of (['nothing', 410] as const).entries()) {
      const old = await receiver();
      old.respond = () => 'hang';
      const { id } = await endpoint(old.url, { events: ['booking.created'] });
      const booked = await book(host, 5 + i);
      await expectEventually(() => expect(old.received).toHaveLength(1));

      const moved = await receiver();
      await t.api.patch(`/api/v1/webhook-endpoints/${id}`).send({ url: moved.url }).expect(200);
      const answeredAt = Date.now();
      if (oldAnswer === 'nothing') old.drop();
      else old.release(410);

      await expectEventually(() => expect(moved.received.map((h) => h.json.data.booking.id)).toEqual([booked.id]), {
        timeoutMs: 3_000,
      });
      // Not after a retry's delay (3.75 s at least): the old address's failure is not the new one's.
      expect(moved.received[0].receivedAt - answeredAt).toBeLessThan(2_000);
      expect((await t.api.get(`/api/v1/webhook-endpoints/${id}`).expect(200)).body).toMatchObject({
        enabled: true,
        url: moved.url,
      });
      expect(await pauseOf(id)).toEqual({ failingSince: null, backoffUntil: null });
      expect(await deliveriesOf(id)).toEqual([
        expect.objectContaining({ status: 'delivered', attempts: 2, lastStatusCode: expect.any(Number) }),
      ]);
      await t.api.delete(`/api/v1/webhook-endpoints/${id}`).expect(204);
    }
  });

  it('a delivery on its last chance (24 h after its event) spent on an address the endpoint left meanwhile gets one try at the new one', async () => {
    const host = await connectGoogleHost(t);
    const old = await receiver();
    old.respond = () => 'hang';
    const { id } = await endpoint(old.url, { events: ['booking.created'] });
    // Paused while the booking is made, and its delivery as old as the retries last.
    await t.dataSource.query(
      `UPDATE "WebhookEndpoint" SET "failingSince" = now(), "backoffUntil" = now() + interval '1 hour' WHERE "id" = $1`,
      [id],
    );
    const booked = await book(host, 7);
    await expectEventually(async () => expect(await deliveriesOf(id)).toHaveLength(1));
    await t.dataSource.query(`UPDATE "WebhookDelivery" SET "giveUpAfter" = now() - interval '1 second' WHERE "endpointId" = $1`, [
      id,
    ]);
    await t.api.patch(`/api/v1/webhook-endpoints/${id}`).send({ enabled: true }).expect(200);
    await expectEventually(() => expect(old.received).toHaveLength(1));
    const moved = await receiver();
    await t.api.patch(`/api/v1/webhook-endpoints/${id}`).send({ url: moved.url }).expect(200);
    old.drop();
    await expectEventually(() => expect(moved.received.map((h) => h.json.data.booking.id)).toEqual([booked.id]), {
      timeoutMs: 3_000,
    });
    expect(await deliveriesOf(id)).toEqual([expect.objectContaining({ status: 'delivered', attempts: 2 })]);
  });

  it('redelivers a delivery on request (202), with the same webhook-id', async () => {
    const host = await connectGoogleHost(t);
    const r = await receiver();
    const { id } = await endpoint(r.url, { events: ['booking.created'] });
    await book(host);
    await book(host, 4);
    await expectEventually(() => expect(r.received).toHaveLength(2));
    const first = await t.api.get(`/api/v1/webhook-endpoints/${id}/deliveries?limit=1`).expect(200);
    expect(first.body.items).toHaveLength(1);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const second = await t.api
      .get(`/api/v1/webhook-endpoints/${id}/deliveries?limit=1&after=${first.body.nextCursor}`)
      .expect(200);
    expect(second.body.items).toHaveLength(1);
    expect(second.body.items[0].id).toBeLessThan(first.body.items[0].id);
    expect(second.body.nextCursor).toBeNull();

    const delivery = second.body.items[0];
    const res = await t.api.post(`/api/v1/webhook-endpoints/${id}/deliveries/${delivery.id}/redeliver`).expect(202);
    expect(res.body).toMatchObject({ id: delivery.id, status: 'pending' });
    await expectEventually(() => expect(r.received).toHaveLength(3));
    expect(r.received[2].headers['webhook-id']).toBe(delivery.eventId);
    await expectEventually(async () => {
      const log = await t.api.get(`/api/v1/webhook-endpoints/${id}/deliveries`).expect(200);
      expect(log.body.items.find((d: { id: number }) => d.id === delivery.id)).toMatchObject({
        status: 'delivered',
        attempts: 2,
      });
    });
    await t.api.post(`/api/v1/webhook-endpoints/${id}/deliveries/99999999/redeliver`).expect(404);
  });

  it('signs with the new secret once it is rotated', async () => {
    const host = await connectGoogleHost(t);
    const r = await receiver();
    const { id, secret } = await endpoint(r.url, { events: ['booking.created'] });
    const rotated = (await t.api.post(`/api/v1/webhook-endpoints/${id}/rotate-secret`).expect(200)).body.secret;
    await book(host);
    await expectEventually(() => expect(r.received).toHaveLength(1));
    const headers = r.received[0].headers as Record<string, string>;
    expect(() => new Webhook(rotated).verify(r.received[0].body, headers)).not.toThrow();
    expect(() => new Webhook(secret).verify(r.received[0].body, headers)).toThrow();
  });

  it('the change feed walked from the start sees every event once, in commit order', async () => {
    const host = await connectGoogleHost(t);
    for (let i = 0; i < 3; i++) await book(host, 10 + i);
    const walked = await walkFeed(t, '0', 2);
    const ids = walked.items.map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
    const stored: Array<{ count: string }> = await t.dataSource.query(`SELECT count(*)::text AS count FROM "HostEvent"`);
    expect(ids).toHaveLength(Number(stored[0].count));
    for (const item of walked.items) {
      expect(Object.keys(item).sort()).toEqual(['data', 'id', 'timestamp', 'type']);
    }
    // Caught up: the same cursor again, nothing new.
    const again = await t.api.get(`/api/v1/changes?after=${walked.cursor}`).expect(200);
    expect(again.body).toEqual({ items: [], nextCursor: walked.cursor });
  });

  it('commit-order race: the event that got the lower id but committed last is still seen, exactly once', async () => {
    const recorder = t.app.get(HostEventRecorder);
    const start = (await walkFeed(t)).cursor;
    const slow = t.dataSource.createQueryRunner();
    const fast = t.dataSource.createQueryRunner();
    await slow.connect();
    await fast.connect();
    try {
      await slow.startTransaction();
      const first = await recorder.record(slow.manager, { type: 'calendar.sync_failed', data: { test: 'slow' } });
      await fast.startTransaction();
      const second = await recorder.record(fast.manager, { type: 'calendar.sync_failed', data: { test: 'fast' } });
      await fast.commitTransaction();
      const seqs: Array<{ id: string; seq: string }> = await t.dataSource.query(
        `SELECT "id", "seq"::text AS "seq" FROM "HostEvent" WHERE "id" = ANY($1) ORDER BY "seq"`,
        [[first.id, second.id]],
      );
      expect(seqs.map((s) => s.id)).toEqual([second.id]); // the slow one is not committed yet

      const page1 = await walkFeed(t, start, 1);
      expect(page1.items.map((e) => e.id)).toEqual([second.id]);

      await slow.commitTransaction();
      const order: Array<{ id: string }> = await t.dataSource.query(
        `SELECT "id" FROM "HostEvent" WHERE "id" = ANY($1) ORDER BY "seq"`,
        [[first.id, second.id]],
      );
      expect(order.map((o) => o.id)).toEqual([first.id, second.id]); // lower id, committed last

      const page2 = await walkFeed(t, page1.cursor, 1);
      expect(page2.items.map((e) => e.id)).toEqual([first.id]);
      const whole = (await walkFeed(t, start)).items.map((e) => e.id);
      expect(whole).toEqual([second.id, first.id]);
    } finally {
      if (slow.isTransactionActive) await slow.rollbackTransaction();
      if (fast.isTransactionActive) await fast.rollbackTransaction();
      await slow.release();
      await fast.release();
    }
  });

  it('records nothing when the change rolls back (no event without its change)', async () => {
    const recorder = t.app.get(HostEventRecorder);
    const start = (await walkFeed(t)).cursor;
    await expect(
      t.dataSource.transaction(async (manager) => {
        await recorder.record(manager, { type: 'calendar.sync_failed', data: { test: 'rolled back' } });
        throw new Error('the change failed');
      }),
    ).rejects.toThrow('the change failed');
    expect((await walkFeed(t, start)).items).toEqual([]);
  });
});

describe('Host integration: no SSRF through webhooks when private URLs are not allowed', () => {
  let t: TestApp;
  let r: WebhookReceiver;

  beforeAll(async () => {
    t = await createTestApp({ env: { WEBHOOK_ALLOW_PRIVATE_URLS: 'false' } });
    r = await WebhookReceiver.start();
  });
  afterAll(async () => {
    await r.stop();
    await t.close();
  });

  it('loads no extension module unless calsync is started with it (the audit-trail example is opt-in)', async () => {
    await t.api.get('/api/v1/extensions/audit-trail/bookings/1/reschedules').expect(404);
  });

  it.each([
    ['loopback', 'http://127.0.0.1:8080/hook'],
    ['loopback by name', 'http://localhost/hook'],
    ['IPv6 loopback', 'http://[::1]/hook'],
    ['private', 'https://10.1.2.3/hook'],
    ['private (192.168)', 'http://192.168.0.10/hook'],
    ['link-local (cloud metadata)', 'http://169.254.169.254/latest/meta-data'],
    ['IPv4-mapped private', 'http://[::ffff:10.0.0.1]/hook'],
    ['unique-local', 'http://[fd00::1]/hook'],
    ['IPv4-compatible loopback', 'http://[::127.0.0.1]/hook'],
  ])('refuses a %s URL with a clear 400', async (_kind, url) => {
    const res = await t.api.post('/api/v1/webhook-endpoints').send({ url }).expect(400);
    expect(JSON.stringify(res.body)).toMatch(/does not resolve to a public address \(loopback, private, link-local/);
  });

  it('does not say which address a name resolved to (it would map internal names)', async () => {
    const res = await t.api.post('/api/v1/webhook-endpoints').send({ url: 'http://localhost:8080/hook' }).expect(400);
    expect(res.body.detail).toMatch(/url host localhost does not resolve to a public address/);
    expect(res.body.detail).not.toMatch(/127\.0\.0\.1|::1/);
    // A name that does not resolve at all gets the same answer: no way to tell which internal names exist.
    const unknown = await t.api.post('/api/v1/webhook-endpoints').send({ url: 'http://no-such-host.invalid/hook' }).expect(400);
    expect(unknown.body.detail).toBe(res.body.detail.replace('localhost', 'no-such-host.invalid'));
  });

  it('refuses a private URL on update too', async () => {
    const created = await t.api.post('/api/v1/webhook-endpoints').send({ url: 'https://93.184.215.14/hook' }).expect(201);
    const res = await t.api.patch(`/api/v1/webhook-endpoints/${created.body.id}`).send({ url: 'http://127.0.0.1/x' }).expect(400);
    expect(JSON.stringify(res.body)).toMatch(/WEBHOOK_ALLOW_PRIVATE_URLS/);
    await t.api.delete(`/api/v1/webhook-endpoints/${created.body.id}`).expect(204);
  });

  it('checks again at delivery time (a URL that became private is never called)', async () => {
    // As if the endpoint had been saved while its name resolved to a public address.
    const [{ id }]: Array<{ id: number }> = await t.dataSource.query(
      `SELECT nextval(pg_get_serial_sequence('"WebhookEndpoint"', 'id'))::int AS "id"`,
    );
    const sealed = new TokenCipher(t.config.encryptionKeys).seal(
      `whsec_${Buffer.alloc(32, 7).toString('base64')}`,
      `webhook-endpoint:${id}`,
    );
    const rows: Array<{ id: number }> = await t.dataSource.query(
      `INSERT INTO "WebhookEndpoint" ("id", "url", "encryptedSecret") VALUES ($1, $2, $3) RETURNING "id"`,
      [id, r.url, sealed],
    );
    const host = await connectGoogleHost(t);
    await t.api
      .post('/api/v1/bookings')
      .send({ userId: host.userId, title: 'x', ...slot(3), attendees: [{ email: 'g@example.com' }] })
      .expect(201);
    await expectEventually(async () => {
      const log = await t.api.get(`/api/v1/webhook-endpoints/${rows[0].id}/deliveries`).expect(200);
      expect(log.body.items[0]).toMatchObject({ status: 'pending', attempts: 1, lastStatusCode: null });
      expect(log.body.items[0].lastError).toMatch(/refused: 127\.0\.0\.1 is not a public address/);
    });
    expect(r.received).toHaveLength(0);
  });
});

describe('Host integration: a drain abandoned at JOB_TIMEOUT_MS while its successor runs', () => {
  let t: TestApp;
  beforeAll(async () => {
    // A job attempt is abandoned after 3 s here; the endpoint holds its first request for 5 s.
    t = await createTestApp({ env: { JOB_TIMEOUT_MS: '3000' } });
  });
  afterAll(async () => {
    await t.close();
  });

  it('never sets a delivered delivery back to pending, and sends nothing more once abandoned', async () => {
    const arrived: string[] = [];
    let requests = 0;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const type = (JSON.parse(Buffer.concat(chunks).toString()) as { type: string }).type;
        arrived.push(type);
        const first = requests++ === 0;
        setTimeout(
          () => {
            res.statusCode = first ? 500 : 204;
            res.end();
          },
          first ? 5000 : 0,
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
      const host = await connectGoogleHost(t);
      const endpoint = (
        await t.api
          .post('/api/v1/webhook-endpoints')
          .send({ url, events: ['booking.created', 'booking.rescheduled'] })
          .expect(201)
      ).body as { id: number };
      const booking = (
        await t.api
          .post('/api/v1/bookings')
          .send({ userId: host.userId, title: 'Held', ...slot(3), attendees: [{ email: 'guest@example.com' }] })
          .expect(201)
      ).body as { id: number };
      await expectEventually(() => expect(arrived).toEqual(['booking.created']));
      await t.api.post(`/api/v1/bookings/${booking.id}/reschedule`).send(slot(4)).expect(200);
      // Every delivery's status, as the deliveries log shows it, until the late 500 has come and gone.
      const seen = new Map<string, string[]>();
      const until = Date.now() + 9_000;
      while (Date.now() < until) {
        const log = await t.api.get(`/api/v1/webhook-endpoints/${endpoint.id}/deliveries`).expect(200);
        for (const d of log.body.items as Array<{ type: string; status: string }>) {
          const states = seen.get(d.type) ?? [];
          if (states.at(-1) !== d.status) states.push(d.status);
          seen.set(d.type, states);
        }
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      expect(seen.get('booking.created')).toEqual(['pending', 'delivered']);
      expect(seen.get('booking.rescheduled')?.at(-1)).toBe('delivered');
      expect(seen.get('booking.rescheduled')).not.toContain('failed');
      // The booking's events arrived in order: the created event (twice: the abandoned attempt's,
      // then its successor's, the same webhook-id) before the rescheduled one; nothing after.
      expect(arrived).toEqual(['booking.created', 'booking.created', 'booking.rescheduled']);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  }, 30_000);
});

describe('Host integration: hanging webhook endpoints and the sync', () => {
  let t: TestApp;
  beforeAll(async () => {
    // Two slots for the sync and calendar writes; the webhook deliveries' lane has 8 more.
    t = await createTestApp({ env: { WORKER_CONCURRENCY: '2' } });
  });
  afterAll(async () => {
    await t.close();
  });

  it('a delivery goes ahead of a backlog of syncs queued before it, for the next free slot', async () => {
    const host = await connectGoogleHost(t);
    await enableFlagForUser(t, 'calendar-subscription-cache', host.userId);
    // Thirty calendars whose syncs each wait a second on Google: more than the 14 slots can run at once.
    const selected: number[] = [];
    for (let i = 0; i < 30; i++) {
      const { id: externalId } = t.google.addCalendar(host.email, { summary: `Busy ${i}` });
      const res = await t.api
        .post(`/api/v1/users/${host.userId}/selected-calendars`)
        .send({ credentialId: host.credentialId, externalId })
        .expect(201);
      selected.push(res.body.id);
    }
    await waitForQueueIdle(t);
    const r = await WebhookReceiver.start();
    const waitingSyncs = () =>
      t.dataSource
        .query(
          `SELECT count(*)::int AS n FROM graphile_worker.jobs
            WHERE task_identifier = 'sync-calendar' AND locked_at IS NULL AND attempts < max_attempts`,
        )
        .then((rows: Array<{ n: number }>) => rows[0].n);
    let atReceipt: Promise<number> | undefined;
    r.respond = () => {
      atReceipt ??= waitingSyncs();
      return 204;
    };
    try {
      await t.api
        .post('/api/v1/webhook-endpoints')
        .send({ url: r.url, events: ['booking.created'] })
        .expect(201);
      t.google.faults.slowNext({ count: 1000, operation: 'events.list', delayMs: 1000 });
      for (const id of selected) await t.admin.post(`/api/v1/admin/selected-calendars/${id}/resync`).expect(202);
      await expectEventually(async () => expect(await waitingSyncs()).toBeGreaterThan(0));
      // Queued after every one of those syncs, the delivery still goes out before the last of them starts.
      await t.api
        .post('/api/v1/bookings')
        .send({ userId: host.userId, title: 'Ahead of the syncs', ...slot(4), attendees: [{ email: 'guest@example.com' }] })
        .expect(201);
      await expectEventually(() => expect(r.received).toHaveLength(1), { timeoutMs: 10_000 });
      expect(await atReceipt).toBeGreaterThan(0);
    } finally {
      t.google.faults.clear();
      await r.stop();
      await waitForQueueIdle(t, 30_000);
    }
  }, 60_000);

  it('however many endpoints hang, their drains hold at most the lane’s 8 slots and a move in Google still reaches its booking at once', async () => {
    const host = await connectGoogleHost(t);
    await enableFlagForUser(t, SYNC, host.userId);
    await runTask(t, 'subscribe-calendars');
    await waitForQueueIdle(t);
    const dead = await WebhookReceiver.start();
    dead.respond = () => 'hang';
    try {
      // Four endpoints of four shards each and a booking per shard: 16 streams of one delivery,
      // each stuck on its request for 10 s.
      for (let n = 0; n < 4; n++)
        await t.api
          .post('/api/v1/webhook-endpoints')
          .send({ url: `${dead.url}?n=${n}` })
          .expect(201);
      const bookings: SyncedBooking[] = [];
      for (let i = 0; i < 4; i++) bookings.push(await bookAndSettle(t, host, 3 + i));
      await expectEventually(() => expect(dead.open).toBe(8));
      const moved = { startTime: shifted(bookings[0].startTime, 120), endTime: shifted(bookings[0].endTime, 120) };
      await t.google.updateEvent(host.calendarId, bookings[0].eventId, {
        start: { dateTime: moved.startTime },
        end: { dateTime: moved.endTime },
      });
      await expectEventually(
        async () => {
          const res = await t.api.get(`/api/v1/bookings/${bookings[0].id}`).expect(200);
          expect(res.body).toMatchObject(moved);
        },
        { timeoutMs: 5_000 },
      );
      expect(dead.peakOpen).toBe(8);
      // A drain job without the lane's flag (queued by a version before lanes had flags) is taken
      // although the lane is full: it is put back, not run, and runs once a slot is free.
      const [waiting]: Array<{ queue: string }> = await t.dataSource.query(
        `SELECT q.queue_name AS queue FROM graphile_worker._private_jobs j
           JOIN graphile_worker._private_job_queues q ON q.id = j.job_queue_id
          WHERE q.queue_name LIKE 'webhooks:%' AND j.locked_at IS NULL AND q.locked_at IS NULL LIMIT 1`,
      );
      const [endpointId, shard] = waiting.queue.slice('webhooks:'.length).split(':').map(Number);
      const jobsIn = async (): Promise<Array<{ id: string; flags: Record<string, boolean> | null; payload: unknown }>> =>
        t.dataSource.query(
          `SELECT j.id::text AS id, j.flags, j.payload
             FROM graphile_worker._private_jobs j JOIN graphile_worker._private_job_queues q ON q.id = j.job_queue_id
            WHERE q.queue_name = $1`,
          [waiting.queue],
        );
      const before = new Set((await jobsIn()).map((j) => j.id));
      const [unflagged]: Array<{ id: string }> = await t.dataSource.query(
        `SELECT id::text FROM graphile_worker.add_job('deliver-webhooks', json_build_object('endpointId', $1::int, 'shard', $2::int), queue_name => $3)`,
        [endpointId, shard, waiting.queue],
      );
      await expectEventually(async () => {
        const now = await jobsIn();
        expect(now.map((j) => j.id)).not.toContain(unflagged.id);
        // Put back: one job more than before in its queue, with the lane's flag and the same payload.
        const copies = now.filter((j) => !before.has(j.id));
        expect(copies).toEqual([{ id: expect.any(String), flags: { 'lane:host-events': true }, payload: { endpointId, shard } }]);
      });
      await expectConsistently(() => expect(dead.open).toBe(8), { durationMs: 1_500 });
      expect(dead.peakOpen).toBe(8);
    } finally {
      await dead.stop();
    }
  }, 60_000);

  it('a burst of drains (one change fanned out to 16 endpoints) wakes every idle worker at once, and still no more than 8 run; the rest follow', async () => {
    const host = await connectGoogleHost(t);
    const slow = await WebhookReceiver.start();
    slow.respond = () => 'hang';
    try {
      for (let n = 0; n < 16; n++) {
        await t.api
          .post('/api/v1/webhook-endpoints')
          .send({ url: `${slow.url}?n=${n}`, events: ['booking.created'] })
          .expect(201);
      }
      await t.api
        .post('/api/v1/bookings')
        .send({ userId: host.userId, title: 'Burst', ...slot(4), attendees: [] })
        .expect(201);
      await expectEventually(() => expect(slow.open).toBe(8));
      await expectConsistently(() => expect(slow.open).toBe(8), { durationMs: 1_500 });
      slow.respond = () => 204;
      slow.release();
      // Every endpoint gets the event, once.
      await expectEventually(() => expect(slow.received).toHaveLength(16));
      expect(new Set(slow.received.map((h) => h.json.id)).size).toBe(1);
      expect(slow.peakOpen).toBe(8);
    } finally {
      await slow.stop();
    }
  }, 60_000);
});

describe('Host integration: an endpoint deleted while a booking changes', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('the change goes through (its event simply has no delivery to the endpoint that is gone)', async () => {
    const host = await connectGoogleHost(t);
    const endpoint = (await t.api.post('/api/v1/webhook-endpoints').send({ url: 'http://127.0.0.1:9/hook' }).expect(201))
      .body as { id: number };
    const booking = (
      await t.api
        .post('/api/v1/bookings')
        .send({ userId: host.userId, title: 'Racing a delete', ...slot(3), attendees: [{ email: 'guest@example.com' }] })
        .expect(201)
    ).body as { id: number };
    // The endpoint's delete is under way (its transaction still open) when the booking is rescheduled.
    const deleting = new pg.Client({ connectionString: t.db.url });
    await deleting.connect();
    try {
      await deleting.query('BEGIN');
      await deleting.query('DELETE FROM "WebhookEndpoint" WHERE "id" = $1', [endpoint.id]);
      // Sent now (a supertest request starts when it is awaited or then-ed).
      const rescheduled = t.api
        .post(`/api/v1/bookings/${booking.id}/reschedule`)
        .send(slot(4))
        .then((r) => r);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      await deleting.query('COMMIT');
      const res = await rescheduled;
      expect(res.status).toBe(200);
      expect(res.body.startTime).toBe(slot(4).startTime);
    } finally {
      await deleting.end();
    }
    const feed = await t.api.get('/api/v1/changes?after=0&limit=500').expect(200);
    expect((feed.body.items as Array<{ type: string }>).map((i) => i.type)).toContain('booking.rescheduled');
  });
});
