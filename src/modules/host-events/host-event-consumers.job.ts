import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleInit } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import { DataSource } from 'typeorm';
import { APP_CONFIG, type AppConfig } from '../../config/app-config.js';
import { JobHandlerRegistry } from '../../infrastructure/queue/job-handler.registry.js';
import { JobQueue } from '../../infrastructure/queue/job-queue.js';
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
    const rows: Array<{ position: string }> = await this.dataSource.query(
      `INSERT INTO "HostEventConsumer" ("name") VALUES ($1)
       ON CONFLICT ("name") DO UPDATE SET "updatedAt" = now()
       RETURNING "position"::text AS "position"`,
      [name],
    );
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
    for (;;) {
      const events = await this.store.readSequenced(position, PAGE);
      if (events.length === 0) return;
      try {
        for (const { position: at, ...event } of events) {
          // An abandoned attempt hands nothing more: the retry takes over from the stored position.
          signal.throwIfAborted();
          if (!consumer.types || consumer.types.has(event.type)) await consumer.handler(event, { signal });
          position = at;
        }
      } finally {
        // Saved once per page, and before a failure propagates: the event that threw (and what
        // follows it) is handed again on the retry; a process that dies mid-page hands the page's
        // handled events again (at least once: handlers deduplicate on the event id).
        await save();
      }
    }
  }
}
