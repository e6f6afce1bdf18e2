import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleInit } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import { DataSource } from 'typeorm';
import { APP_CONFIG, type AppConfig } from '../../config/app-config.js';
import { JobHandlerRegistry } from '../../infrastructure/queue/job-handler.registry.js';
import { JobQueue } from '../../infrastructure/queue/job-queue.js';
import { logLine } from '../../infrastructure/logging/logging.js';
import { type HostEventConsumer, HostEventSubscriptions } from './host-event-consumers.registry.js';
import { HostEventStore } from './host-event.store.js';
import {
  CLEANUP_HOST_EVENTS_JOB,
  HOST_EVENT_CONSUMERS_LANE,
  HOST_EVENT_CONSUMERS_LANE_CONCURRENCY,
  RUN_HOST_EVENT_CONSUMER_JOB,
  hostEventConsumerJobOptions,
} from './host-events.jobs.js';

const PAGE = 200;

/**
 * Runs the extension consumers (`HostEventSubscriptions`) and the feed's retention clean-up.
 *
 * A consumer run reads the feed after the consumer's stored position, hands each event of a type it
 * wants to its handler, and stores the new position after each page: a handler that throws fails
 * the job (retried with graphile-worker's backoff) and the position is stored just before that
 * event, so it is handed again: at least once, in commit order. One run per consumer at a time (its queue).
 */
@Injectable()
export class HostEventConsumersJob implements OnModuleInit, OnApplicationBootstrap {
  private readonly logger = new Logger('HostEventConsumers');

  constructor(
    private readonly registry: JobHandlerRegistry,
    private readonly subscriptions: HostEventSubscriptions,
    private readonly store: HostEventStore,
    private readonly dataSource: DataSource,
    private readonly jobs: JobQueue,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    this.registry.handle(RUN_HOST_EVENT_CONSUMER_JOB, ({ consumer }, { signal }) => this.run(consumer, signal));
    this.registry.useLane(RUN_HOST_EVENT_CONSUMER_JOB.name, HOST_EVENT_CONSUMERS_LANE, HOST_EVENT_CONSUMERS_LANE_CONCURRENCY);
    this.registry.handle(CLEANUP_HOST_EVENTS_JOB, async () => {
      const removed = await this.store.removeExpired();
      if (removed > 0) this.logger.log(`Removed ${removed} host events older than the retention`);
    });
  }

  /** Catch up at start: events recorded while no instance ran (or before a consumer existed). */
  async onApplicationBootstrap(): Promise<void> {
    await this.catchUp();
  }

  /**
   * Every minute, as at start: one keyed run per consumer of this instance (a no-op when there is
   * nothing new, or while a failing one waits for its retry). An event whose run an instance
   * without the consumer took (an older version during a rolling deploy) is handed within a
   * minute, not at the next event.
   */
  @Interval('host-event-consumers-catch-up', 60_000)
  async sweep(): Promise<void> {
    if (!this.config.schedulerEnabled) return;
    await this.catchUp().catch((error: Error) => this.logger.warn(`catch-up: ${error.message}`));
  }

  async catchUp(): Promise<void> {
    for (const consumer of this.subscriptions.all()) {
      await this.jobs.enqueueJob(
        RUN_HOST_EVENT_CONSUMER_JOB,
        { consumer: consumer.name },
        hostEventConsumerJobOptions(consumer.name),
      );
    }
  }

  /** Hourly: the retention clean-up, as a keyed job (one at a time across instances). */
  @Interval('host-events-cleanup', 3_600_000)
  async scheduleCleanup(): Promise<void> {
    if (!this.config.schedulerEnabled) return;
    await this.jobs
      .enqueueJob(CLEANUP_HOST_EVENTS_JOB, {})
      .catch((error: Error) => this.logger.warn(`cleanup: ${error.message}`));
  }

  /**
   * One run at a time per consumer, across attempts and instances: its queue runs one job at a
   * time, but an attempt abandoned at `JOB_TIMEOUT_MS` may still be in its handler while the
   * retry starts. So a run holds the consumer's advisory lock (on a connection of its own) until
   * its handler has returned: a run that finds it held fails and is retried with backoff. The
   * abandoned run is handed no further event (its signal has fired), and the handler is given the
   * signal to stop its own work.
   */
  async run(name: string, signal: AbortSignal = new AbortController().signal): Promise<void> {
    const consumer = this.subscriptions.get(name);
    if (!consumer) return; // registered by another version of the code; nothing to do here
    const lock = this.dataSource.createQueryRunner();
    await lock.connect();
    try {
      const [{ locked }]: Array<{ locked: boolean }> = await lock.query(
        `SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS locked`,
        [`host-event-consumer:${name}`],
      );
      if (!locked) {
        throw new Error(`Host event consumer "${name}" is still running an earlier attempt (its handler has not returned)`);
      }
      try {
        await this.handOver(name, consumer, signal);
      } finally {
        await lock.query(`SELECT pg_advisory_unlock(hashtextextended($1, 0))`, [`host-event-consumer:${name}`]);
      }
    } finally {
      await lock.release();
    }
  }

  private async handOver(name: string, consumer: HostEventConsumer, signal: AbortSignal): Promise<void> {
    // The consumer's row, created on its first run; every run marks it as in use ("updatedAt"),
    // which keeps the events it has not handled from the feed's retention clean-up.
    const rows: Array<{ position: string; failures: number; waiting: boolean }> = await this.dataSource.query(
      `INSERT INTO "HostEventConsumer" ("name") VALUES ($1)
       ON CONFLICT ("name") DO UPDATE SET "updatedAt" = now()
       RETURNING "position"::text AS "position", "failures", COALESCE("retryAt" > now(), false) AS "waiting"`,
      [name],
    );
    // A failing consumer is tried again at its "retryAt", by the keyed job queued for then: the
    // runs new events queue meanwhile leave it alone (each would otherwise retry it at once).
    if (rows[0].waiting) return;
    let stored = Number(rows[0].position);
    let position = stored;
    const save = async () => {
      if (position === stored) return;
      await this.dataSource.query(`UPDATE "HostEventConsumer" SET "position" = $2, "updatedAt" = now() WHERE "name" = $1`, [
        name,
        position,
      ]);
      stored = position;
    };
    await this.store.sequence();
    try {
      for (;;) {
        const events = await this.store.readSequenced(position, PAGE);
        if (events.length === 0) break;
        try {
          for (const { position: at, ...event } of events) {
            // An abandoned attempt hands nothing more: the retry takes over from the stored position.
            signal.throwIfAborted();
            if (!consumer.types || consumer.types.has(event.type)) {
              try {
                await consumer.handler(event, { signal });
              } catch (error) {
                throw new HandlerFailed(event.id, error);
              }
            }
            position = at;
          }
        } finally {
          // Saved once per page, and before a failure propagates: the event that threw (and what
          // follows it) is handed again on the retry; a process that dies mid-page hands the page's
          // handled events again (at least once: handlers deduplicate on the event id).
          await save();
        }
      }
    } catch (error) {
      if (!(error instanceof HandlerFailed)) throw error;
      await this.backOff(name, rows[0].failures + 1, error);
      return;
    }
    if (rows[0].failures > 0) {
      await this.dataSource.query(
        `UPDATE "HostEventConsumer" SET "failures" = 0, "retryAt" = NULL, "lastError" = NULL WHERE "name" = $1`,
        [name],
      );
    }
  }

  /**
   * The handler threw: the consumer waits `consumerBackoffMs(failures)` (its failure, the wait and
   * the keyed job that ends it are one transaction, so a crash leaves no failing consumer without
   * its retry), and the attempt ends as a success: the retry is this job's, not graphile-worker's,
   * so it is never given up after a number of attempts; the events wait, in order, until it works.
   */
  private async backOff(name: string, failures: number, failed: HandlerFailed): Promise<void> {
    const waitMs = consumerBackoffMs(failures);
    const message = failed.cause instanceof Error ? failed.cause.message : String(failed.cause);
    await this.dataSource.transaction(async (manager) => {
      await manager.query(
        `UPDATE "HostEventConsumer"
            SET "failures" = $2, "retryAt" = now() + ($3::int * interval '1 millisecond'), "lastError" = $4
          WHERE "name" = $1`,
        [name, failures, waitMs, message.slice(0, 1000)],
      );
      await this.jobs.enqueueJob(
        RUN_HOST_EVENT_CONSUMER_JOB,
        { consumer: name },
        { ...hostEventConsumerJobOptions(name), jobKeyMode: 'replace', delayMs: waitMs },
        manager,
      );
    });
    this.logger.warn(
      logLine(
        `Host event consumer "${name}" failed on event ${failed.eventId} (${failures} in a row): ${message}; ` +
          `tried again in ${Math.round(waitMs / 1000)} s, the events after it wait`,
        { consumer: name },
      ),
    );
  }
}

/** The wait after a consumer's n-th failure in a row: 1 s doubling, at most 15 minutes. */
export function consumerBackoffMs(failures: number): number {
  return Math.min(15 * 60_000, 1000 * 2 ** Math.min(failures - 1, 20));
}

/** A consumer's handler threw on `eventId` (anything else a run throws is the run's own failure). */
class HandlerFailed extends Error {
  constructor(
    readonly eventId: string,
    thrown: unknown,
  ) {
    super(`handler failed on ${eventId}`, { cause: thrown });
  }
}
