import { Injectable, Module, type OnModuleInit } from '@nestjs/common';
import { type HostEventEnvelope, HostEventSubscriptions } from '../../src/modules/host-events/index.js';
import { HostEventStore } from '../../src/modules/host-events/host-event.store.js';
import { HostEventConsumersJob } from '../../src/modules/host-events/host-event-consumers.job.js';
import { type TestApp, createTestApp } from '../support/create-test-app.js';
import { expectEventually } from '../support/expect-eventually.js';
import { connectGoogleHost, slot } from '../support/fixtures.js';

/** What the test's consumer saw, and the switch that makes its first call hang. */
const probe = {
  hangFirst: true,
  active: 0,
  maxActive: 0,
  handed: [] as string[],
  signals: [] as AbortSignal[],
  release: (): void => undefined,
};

@Injectable()
class HangingConsumer implements OnModuleInit {
  constructor(private readonly hostEvents: HostEventSubscriptions) {}

  onModuleInit(): void {
    this.hostEvents.onHostEvent('test.hanging', ['booking.created', 'booking.rescheduled'], (event, { signal }) =>
      this.handle(event, signal),
    );
  }

  private async handle(event: HostEventEnvelope, signal: AbortSignal): Promise<void> {
    probe.active++;
    probe.maxActive = Math.max(probe.maxActive, probe.active);
    probe.handed.push(event.id);
    probe.signals.push(signal);
    try {
      if (probe.hangFirst) {
        probe.hangFirst = false;
        // A handler stuck in its own work (a slow query, a request without a timeout).
        await new Promise<void>((resolve) => {
          probe.release = resolve;
        });
      }
    } finally {
      probe.active--;
    }
  }
}

@Module({ providers: [HangingConsumer] })
class HangingConsumerModule {}

describe('An extension consumer whose handler hangs past JOB_TIMEOUT_MS', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ env: { JOB_TIMEOUT_MS: '1500' }, extensions: [HangingConsumerModule] });
  });
  afterAll(async () => {
    probe.release();
    await t.close();
  });

  it('is never run twice at once: the abandoned run is signalled and hands nothing more; once it returns, its retry hands the rest', async () => {
    const host = await connectGoogleHost(t);
    const booking = (
      await t.api
        .post('/api/v1/bookings')
        .send({ userId: host.userId, title: 'Consumed', ...slot(3), attendees: [] })
        .expect(201)
    ).body as { id: number };
    await expectEventually(() => expect(probe.handed).toHaveLength(1));
    // More changes while the first call hangs: each queues a run of the consumer.
    for (const day of [4, 5, 6]) await t.api.post(`/api/v1/bookings/${booking.id}/reschedule`).send(slot(day)).expect(200);

    // Past the timeout (and a retry or two): the hung call's signal fired, nothing else was handed,
    // and no second run entered the handler beside it (before: each retry ran beside the hung
    // one, and the hung one handed the rest again when it woke).
    await expectEventually(() => expect(probe.signals[0]?.aborted).toBe(true), { timeoutMs: 5000 });
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect(probe.handed).toHaveLength(1);
    expect(probe.maxActive).toBe(1);

    probe.release();
    const changes = await t.api.get('/api/v1/changes?limit=200').expect(200);
    const wanted = (changes.body.items as Array<{ id: string; type: string; data: { booking: { id: number } } }>)
      .filter((e) => e.data.booking?.id === booking.id && ['booking.created', 'booking.rescheduled'].includes(e.type))
      .map((e) => e.id);
    expect(wanted).toHaveLength(4);
    // The hung call completed its event when it returned (its position is stored as the abandoned
    // run stops); the retry, no longer locked out, hands the rest in commit order: each once.
    await expectEventually(() => expect(probe.handed).toEqual(wanted), { timeoutMs: 20_000 });
    expect(probe.maxActive).toBe(1);
  }, 40_000);
});

/** A consumer stuck on one booking's events while `failing` is set. */
const stuck = { failing: true, handled: [] as string[], failedCalls: 0 };

@Injectable()
class StuckConsumer implements OnModuleInit {
  constructor(private readonly hostEvents: HostEventSubscriptions) {}

  onModuleInit(): void {
    this.hostEvents.onHostEvent('test.stuck', ['booking.created'], async (event) => {
      const data = event.data as { booking: { title: string } };
      if (stuck.failing && data.booking.title === 'Stuck') {
        stuck.failedCalls++;
        throw new Error('the CRM is down');
      }
      stuck.handled.push(event.id);
    });
  }
}

@Module({ providers: [StuckConsumer] })
class StuckConsumerModule {}

describe('The feed’s retention and an extension consumer that lags', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ extensions: [StuckConsumerModule] });
  });
  afterAll(async () => {
    await t.close();
  });

  it('keeps the events a consumer in use has not handled past the retention, and hands them over once it recovers', async () => {
    const host = await connectGoogleHost(t);
    const create = async (day: number, title = 'Kept') =>
      (
        await t.api
          .post('/api/v1/bookings')
          .send({ userId: host.userId, title, ...slot(day), attendees: [] })
          .expect(201)
      ).body as { id: number };
    const first = await create(3, 'Stuck');
    const second = await create(4);
    const ids = async () =>
      (
        await t.dataSource.query(
          `SELECT "id" FROM "HostEvent" WHERE "type" = 'booking.created' AND "bookingId" = ANY($1::int[]) ORDER BY "position"`,
          [[first.id, second.id]],
        )
      ).map((r: { id: string }) => r.id) as string[];
    await expectEventually(async () => expect(await ids()).toHaveLength(2));
    const [firstEvent, secondEvent] = await ids();
    // A consumer that has run lately (its row touched) but is stuck on the first booking's event.
    await expectEventually(async () => {
      const [row] = await t.dataSource.query(`SELECT "position" FROM "HostEventConsumer" WHERE "name" = 'test.stuck'`);
      expect(row).toBeDefined();
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(stuck.handled).not.toContain(firstEvent);
    // A consumer that was taken out of the code long ago holds nothing back.
    await t.dataSource.query(
      `INSERT INTO "HostEventConsumer" ("name", "position", "updatedAt") VALUES ('test.removed-long-ago', 0, now() - interval '40 days')`,
    );
    // Both events are now past the 30 days (and a newer event exists, so neither is the newest).
    await create(5);
    await t.dataSource.query(`UPDATE "HostEvent" SET "createdAt" = now() - interval '31 days' WHERE "id" = ANY($1::text[])`, [
      [firstEvent, secondEvent],
    ]);

    await t.app.get(HostEventStore).removeExpired();
    // Before: both were deleted, and the consumer never got them.
    expect(await ids()).toEqual([firstEvent, secondEvent]);

    stuck.failing = false;
    await expectEventually(() => expect(stuck.handled.slice(0, 2)).toEqual([firstEvent, secondEvent]), { timeoutMs: 20_000 });
    // Its failure is cleared once the run that handed them ends.
    await expectEventually(async () => {
      const [healed] = await t.dataSource.query(
        `SELECT "failures", "retryAt", "lastError" FROM "HostEventConsumer" WHERE "name" = 'test.stuck'`,
      );
      expect(healed).toEqual({ failures: 0, retryAt: null, lastError: null });
    });
    await expectEventually(async () => {
      await t.app.get(HostEventStore).removeExpired();
      expect(await ids()).toEqual([]);
    });
  }, 60_000);
});

describe('An extension consumer whose handler keeps throwing', () => {
  let t: TestApp;
  beforeAll(async () => {
    Object.assign(stuck, { failing: true, handled: [], failedCalls: 0 });
    t = await createTestApp({ extensions: [StuckConsumerModule] });
  });
  afterAll(async () => {
    stuck.failing = false;
    await t.close();
  });

  it('is retried with a growing wait, not once more for every new event, and shows why it waits', async () => {
    const host = await connectGoogleHost(t);
    const create = (day: number, title: string) =>
      t.api
        .post('/api/v1/bookings')
        .send({ userId: host.userId, title, ...slot(day), attendees: [] })
        .expect(201);
    await create(3, 'Stuck');
    await expectEventually(async () => {
      const [row] = await t.dataSource.query(
        `SELECT "failures", "retryAt" > now() AS "waiting", "lastError" FROM "HostEventConsumer" WHERE "name" = 'test.stuck'`,
      );
      expect(row).toMatchObject({ waiting: true, lastError: 'the CRM is down' });
      expect(row.failures).toBeGreaterThanOrEqual(1);
    });
    // Eight more events within the first waits: before, each one retried the failing event at once.
    const before = stuck.failedCalls;
    for (let day = 4; day < 12; day++) await create(day, 'Kept');
    await new Promise((resolve) => setTimeout(resolve, 1500));
    // 1 s, then 2 s, ...: at most the retries those waits allow, however many events came.
    expect(stuck.failedCalls - before).toBeLessThanOrEqual(2);
    // The events after the failing one wait for it.
    expect(stuck.handled).toEqual([]);
  }, 30_000);
});

describe('An event whose consumer run went to an instance without the consumer (a rolling deploy)', () => {
  let t: TestApp;
  beforeAll(async () => {
    Object.assign(stuck, { failing: false, handled: [], failedCalls: 0 });
    t = await createTestApp({ extensions: [StuckConsumerModule] });
  });
  afterAll(async () => {
    await t.close();
  });

  it('is handed by the minute’s catch-up (before: only once another event came)', async () => {
    // The start's own catch-up has run and left no consumer job behind.
    await expectEventually(async () => {
      const [{ jobs }] = await t.dataSource.query(
        `SELECT count(*)::int AS jobs FROM graphile_worker.jobs WHERE task_identifier = 'host-event-consumer'`,
      );
      expect(jobs).toBe(0);
    });
    // An event whose consumer job is gone: an older instance without the consumer took and completed it.
    await t.dataSource.query(
      `INSERT INTO "HostEvent" ("id", "type", "bookingId", "data") VALUES ('evt_stranded', 'booking.created', NULL, $1::jsonb)`,
      [JSON.stringify({ booking: { id: 0, title: 'Kept' } })],
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(stuck.handled).not.toContain('evt_stranded');
    await t.app.get(HostEventConsumersJob).catchUp();
    await expectEventually(() => expect(stuck.handled).toContain('evt_stranded'));
  });
});
