import { defineJob } from '../../infrastructure/queue/job-definition.js';
import type { EnqueueOptions } from '../../infrastructure/queue/job-queue.js';

/**
 * The host-events module's durable jobs, each kind in a lane of the worker's runner (see
 * JobHandlerRegistry.useLane): however many endpoints hang, their drains never take more than the
 * webhooks lane's slots (the sync keeps its own), and one endpoint holds at most its 4 shards'.
 * Extension consumers have their own lane, so dead endpoints never hold them up either. The
 * webhooks lane keeps the name it had when it was the module's only one: queued jobs carry it.
 */
export const WEBHOOKS_LANE = 'host-events';
export const WEBHOOKS_LANE_CONCURRENCY = 8;
export const HOST_EVENT_CONSUMERS_LANE = 'host-event-consumers';
export const HOST_EVENT_CONSUMERS_LANE_CONCURRENCY = 4;
/**
 * graphile-worker takes due jobs by priority (lower first), then by due time: the host's deliveries
 * and consumers go ahead of a backlog of syncs for the next free slot, instead of waiting behind
 * every sync queued before them. Their lanes still cap them (8 and 4 slots), so the syncs always
 * keep `WORKER_CONCURRENCY` slots of their own.
 */
export const HOST_EVENT_JOBS_PRIORITY = -1;

/**
 * An endpoint's deliveries are spread over this many serial streams (`shard` = booking id modulo
 * this): one booking always lands in the same one (its events stay in order), and one endpoint
 * never holds more than this many of the lane's slots, even when every attempt hangs for 10 s.
 */
export const WEBHOOK_SHARDS = 4;

export interface DeliverWebhooksPayload {
  endpointId: number;
  shard: number;
}

/** "Deliver what is due for endpoint E, shard S, in event order." */
export const DELIVER_WEBHOOKS_JOB = defineJob<DeliverWebhooksPayload>('deliver-webhooks', {
  jobKeyMode: 'replace',
  maxAttempts: 25,
  lane: WEBHOOKS_LANE,
  priority: HOST_EVENT_JOBS_PRIORITY,
});

export const WEBHOOKS_QUEUE_PREFIX = 'webhooks:';

/** An (endpoint, shard)'s deliveries run in a queue of their own, so its drains never run twice at once. */
export function deliverWebhooksQueue(endpointId: number, shard: number): string {
  return `${WEBHOOKS_QUEUE_PREFIX}${endpointId}:${shard}`;
}

/**
 * One waiting drain per (endpoint, shard), keyed: for the drain's own successor and for the API's
 * wake-ups. The transactions that record events enqueue theirs without a key
 * (`HostEventStore.record`): a job key is one row that every concurrent transaction enqueueing it
 * would lock until its commit, serializing changes of unrelated bookings. A drain that finds
 * nothing due ends at once.
 */
export function deliverWebhooksJobOptions(endpointId: number, shard: number): EnqueueOptions {
  const queue = deliverWebhooksQueue(endpointId, shard);
  return { ...DELIVER_WEBHOOKS_JOB.options, jobKey: queue, queueName: queue };
}

export interface RunHostEventConsumerPayload {
  consumer: string;
}

/** "Hand consumer C (an extension module's handler) the events after its position." */
export const RUN_HOST_EVENT_CONSUMER_JOB = defineJob<RunHostEventConsumerPayload>('host-event-consumer', {
  jobKeyMode: 'preserve_run_at',
  maxAttempts: 25,
  lane: HOST_EVENT_CONSUMERS_LANE,
  priority: HOST_EVENT_JOBS_PRIORITY,
});

export const CONSUMER_QUEUE_PREFIX = 'host-event-consumer:';

export function hostEventConsumerQueue(consumer: string): string {
  return `${CONSUMER_QUEUE_PREFIX}${consumer}`;
}

/** Keyed, for the start-up catch-up; the recording transactions enqueue theirs unkeyed (see `deliverWebhooksJobOptions`). */
export function hostEventConsumerJobOptions(consumer: string): EnqueueOptions {
  const queue = hostEventConsumerQueue(consumer);
  return { ...RUN_HOST_EVENT_CONSUMER_JOB.options, jobKey: queue, queueName: queue };
}

/** Drops change-feed events older than the retention (30 days), with their delivery log. */
export const CLEANUP_HOST_EVENTS_JOB = defineJob<Record<string, never>>('cleanup-host-events', {
  jobKey: 'cleanup-host-events',
  jobKeyMode: 'preserve_run_at',
  maxAttempts: 5,
});
