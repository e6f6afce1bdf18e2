import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { preparedQuery } from '../../infrastructure/database/prepared-query.js';
import { laneFlags } from '../../infrastructure/queue/job-queue.js';
import { DataSource, type EntityManager } from 'typeorm';
import { HostEventSubscriptions, type HostEventEnvelope } from './host-event-consumers.registry.js';
import {
  DELIVER_WEBHOOKS_JOB,
  RUN_HOST_EVENT_CONSUMER_JOB,
  WEBHOOK_SHARDS,
  CONSUMER_QUEUE_PREFIX,
  WEBHOOKS_QUEUE_PREFIX,
} from './host-events.jobs.js';
import {
  HostEventRecorder,
  type HostEventStatement,
  type HostEventType,
  type NewHostEvent,
} from './ports/host-event-recorder.port.js';

/** Events stay in the change feed at least this long. */
export const FEED_RETENTION_DAYS = 30;
const SEQUENCER_LOCK = 'calsync:host-event-feed';

export interface FeedEvent extends HostEventEnvelope {
  position: number;
}

interface FeedRow {
  cursor: string;
  id: string;
  type: HostEventType;
  createdAt: Date;
  data: Record<string, unknown>;
}

/**
 * The outbox of host events (`HostEvent`), its fan-out to webhook deliveries, and the change feed.
 *
 * Commit order. `seq` is a bigserial: assigned at insert, not at commit. Two transactions can
 * commit out of order (the one holding seq 7 commits after the one holding seq 8), so a consumer
 * paging by `seq` could read 8, move its cursor past 7, and never see 7. The feed therefore pages
 * by `position`, which a sequencer assigns after commit: under one advisory lock, every committed
 * event without a position gets the next ones, in `seq` order. A transaction still in flight is
 * invisible to it and gets a later position once it commits; positions commit in increasing order
 * (one sequencer at a time), so a reader that saw position p will only ever find new events above
 * p. The feed reader and the consumer jobs run the sequencer before they read; it costs one
 * indexed UPDATE of the events committed since the last run. (A reader that only exposed ids below
 * the oldest in-flight transaction's would stall behind any long transaction and still need the
 * inserting transaction's xid on every row; this keeps the feed moving and the rows plain.)
 *
 * Per-booking order needs no sequencer: a booking's changes are serialized by its row lock, so its
 * events' `seq` order is the order they happened, and deliveries follow `seq` per booking.
 */
@Injectable()
export class HostEventStore extends HostEventRecorder {
  constructor(
    private readonly dataSource: DataSource,
    private readonly consumers: HostEventSubscriptions,
  ) {
    super();
  }

  /**
   * In the caller's transaction: the event, one pending delivery per enabled endpoint that wants
   * its type, and the jobs that deliver them and feed the extension consumers.
   */
  async record(manager: EntityManager, event: NewHostEvent): Promise<{ id: string }> {
    const id = newEventId();
    const { sql, params } = this.statement(id, event, {
      ctes: '',
      params: [JSON.stringify(event.data)],
      from: '',
      data: '$1::jsonb',
    });
    await preparedQuery(manager, sql, params);
    return { id };
  }

  async recordWith(manager: EntityManager, event: Omit<NewHostEvent, 'data'>, statement: HostEventStatement): Promise<void> {
    const { sql, params } = this.statement(newEventId(), event, statement);
    await preparedQuery(manager, sql, params);
  }

  /**
   * One statement, one round trip: the caller's CTEs, the event, its deliveries, and the jobs that
   * deliver them and feed the consumers (graphile-worker's add_jobs: no job keys, which would
   * serialize concurrent recording transactions; a drain that finds nothing due ends at once). The
   * queue names are the ones `deliverWebhooksQueue` / `hostEventConsumerQueue` make, from the same
   * prefixes. This statement's parameters follow the caller's.
   */
  private statement(
    id: string,
    event: Omit<NewHostEvent, 'data'>,
    caller: HostEventStatement,
  ): { sql: string; params: unknown[] } {
    const bookingId = event.bookingId ?? null;
    const consumers = this.consumers.interestedIn(event.type).map((c) => c.name);
    const own = [
      id,
      event.type,
      bookingId,
      WEBHOOK_SHARDS,
      DELIVER_WEBHOOKS_JOB.name,
      WEBHOOKS_QUEUE_PREFIX,
      DELIVER_WEBHOOKS_JOB.options.maxAttempts ?? 25,
      RUN_HOST_EVENT_CONSUMER_JOB.name,
      CONSUMER_QUEUE_PREFIX,
      RUN_HOST_EVENT_CONSUMER_JOB.options.maxAttempts ?? 25,
      consumers,
      laneFlags(DELIVER_WEBHOOKS_JOB.options),
      laneFlags(RUN_HOST_EVENT_CONSUMER_JOB.options),
      DELIVER_WEBHOOKS_JOB.options.priority ?? 0,
      RUN_HOST_EVENT_CONSUMER_JOB.options.priority ?? 0,
    ];
    const n = caller.params.length;
    const p = (i: number) => `$${n + i}`;
    const sql = `WITH ${caller.ctes ? `${caller.ctes}, ` : ''}e AS (
         INSERT INTO "HostEvent" ("id", "type", "bookingId", "data")
         SELECT ${p(1)}::text, ${p(2)}::text, ${p(3)}::int, ${caller.data}${caller.from ? ` FROM ${caller.from}` : ''}
         RETURNING "seq"
       ), d AS (
         INSERT INTO "WebhookDelivery" ("endpointId", "eventSeq", "orderingKey", "shard", "giveUpAfter")
         SELECT w."id", e."seq",
                CASE WHEN ${p(3)}::int IS NULL THEN 'event:' || e."seq" ELSE 'booking:' || ${p(3)}::int END,
                (COALESCE(${p(3)}::bigint, e."seq") % ${p(4)}::int)::smallint,
                clock_timestamp() + interval '24 hours'
           FROM "WebhookEndpoint" w, e
          WHERE w."enabled" AND (w."events" IS NULL OR ${p(2)} = ANY (w."events"))
            -- An endpoint being deleted meanwhile is waited for and then left out, rather than
            -- failing the change it describes on the delivery's foreign key.
            FOR KEY SHARE OF w
         RETURNING "endpointId", "shard"
       ), specs AS (
         SELECT ${p(5)}::text AS identifier, json_build_object('endpointId', t."endpointId", 'shard', t."shard") AS payload,
                ${p(6)}::text || t."endpointId" || ':' || t."shard" AS queue_name, ${p(7)}::int AS max_attempts,
                ${p(12)}::text[] AS flags, ${p(14)}::int AS priority
           FROM (SELECT DISTINCT "endpointId", "shard" FROM d) t
         UNION ALL
         SELECT ${p(8)}::text, json_build_object('consumer', c), ${p(9)}::text || c, ${p(10)}::int, ${p(13)}::text[], ${p(15)}::int
           FROM unnest(${p(11)}::text[]) c WHERE EXISTS (SELECT 1 FROM e)
       )
       SELECT CASE WHEN EXISTS (SELECT 1 FROM specs) THEN (
                SELECT count(*) FROM graphile_worker.add_jobs(ARRAY(
                  SELECT ROW(s.identifier, s.payload, s.queue_name, NULL, s.max_attempts, NULL, s.priority, s.flags)::graphile_worker.job_spec
                    FROM specs s)))
              END AS "jobs"`;
    return { sql, params: [...caller.params, ...own] };
  }

  /** Gives every committed event without a feed position the next positions (see the class comment). */
  async sequence(): Promise<void> {
    // One round trip: a query string of several statements without parameters runs in one
    // implicit transaction (PostgreSQL's simple query protocol), so the advisory transaction lock
    // is held until the UPDATE is done, as in an explicit BEGIN … COMMIT (which takes four).
    await this.dataSource.query(
      `SELECT pg_advisory_xact_lock(hashtext('${SEQUENCER_LOCK}'));
       WITH base AS (SELECT COALESCE(max("position"), 0) AS p FROM "HostEvent"),
            todo AS (SELECT "seq", row_number() OVER (ORDER BY "seq") AS n FROM "HostEvent" WHERE "position" IS NULL)
       UPDATE "HostEvent" h SET "position" = base.p + todo.n FROM base, todo WHERE h."seq" = todo."seq"`,
    );
  }

  /** The change feed: events after `after`, in commit order. */
  async feed(after: number, limit: number): Promise<FeedEvent[]> {
    await this.sequence();
    return this.readSequenced(after, limit);
  }

  /** Events already sequenced after `after` (no sequencing: for a caller that just ran it). */
  async readSequenced(after: number, limit: number): Promise<FeedEvent[]> {
    const rows: FeedRow[] = await this.dataSource.query(
      `SELECT h."position"::text AS "cursor", h."id", h."type", h."createdAt", h."data"
         FROM "HostEvent" h WHERE h."position" > $1 ORDER BY h."position" LIMIT $2`,
      [after, limit],
    );
    return rows.map((r) => ({
      position: Number(r.cursor),
      id: r.id,
      type: r.type,
      timestamp: new Date(r.createdAt).toISOString(),
      data: r.data,
    }));
  }

  /**
   * Drops events older than the retention with their deliveries. The newest sequenced event is
   * always kept: positions continue from it, so a cursor a consumer holds stays valid. So is every
   * event an extension consumer has not handled yet (one stuck on a failing event, or not run for a
   * while), as long as the consumer ran within the retention: a consumer taken out of the code
   * (its row no longer touched) stops holding events back after that.
   */
  async removeExpired(): Promise<number> {
    await this.sequence();
    const rows: Array<{ count: string }> = await this.dataSource.query(
      `WITH gone AS (
         DELETE FROM "HostEvent"
          WHERE "createdAt" < now() - ($1::int * interval '1 day')
            AND "position" IS NOT NULL
            AND "position" < (SELECT max("position") FROM "HostEvent")
            AND "position" <= COALESCE(
                  (SELECT min(c."position") FROM "HostEventConsumer" c
                    WHERE c."updatedAt" > now() - ($1::int * interval '1 day')),
                  "position")
         RETURNING 1)
       SELECT count(*)::text AS count FROM gone`,
      [FEED_RETENTION_DAYS],
    );
    return Number(rows[0]?.count ?? 0);
  }
}

function newEventId(): string {
  return `evt_${randomUUID().replace(/-/g, '')}`;
}
