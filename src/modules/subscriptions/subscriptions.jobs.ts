import type { ProviderName } from '../../config/app-config.js';
import { defineJob } from '../../infrastructure/queue/job-definition.js';
import type { EnqueueOptions } from '../../infrastructure/queue/job-queue.js';

/**
 * The subscriptions module's durable jobs, each declared once here (names, keys and options are
 * those queued jobs of earlier versions carry, so they must not change). Its handlers stay in
 * `jobs/`. Part of the module's public surface: connections enqueues `STOP_CHANNEL_JOB`. Imports
 * nothing of the module, so importing it loads no Nest module or service.
 */

/** The scheduled tasks, run by `TaskRunner` (and by `POST /api/v1/admin/tasks/:task/run`). */
export const TASK_NAMES = ['subscribe-calendars', 'resync-calendars', 'cleanup-cache', 'reseal-credentials'] as const;
export type TaskName = (typeof TASK_NAMES)[number];

export interface RunTaskPayload {
  task: TaskName;
}

/** "Run task X now": queued by the timers and by events that change who needs a channel. */
export const RUN_TASK_JOB = defineJob<RunTaskPayload>('run-task', { maxAttempts: 3 });

/**
 * One waiting run per task (`task:<name>`): `preserve_run_at` for the timers (a tick never
 * postpones a waiting run), `replace` with a delay for a run asked for by a change.
 */
export function runTaskJobOptions(task: TaskName, mode: 'preserve_run_at' | 'replace', delayMs?: number): EnqueueOptions {
  return {
    ...RUN_TASK_JOB.options,
    jobKey: `task:${task}`,
    jobKeyMode: mode,
    ...(delayMs === undefined ? {} : { delayMs }),
  };
}

export interface ChannelLifecyclePayload {
  selectedCalendarId: number;
  operation: 'reauthorize' | 'recreate';
  /** The channel the provider's life-cycle notification was about. */
  channelId: string | null;
}

/** A provider's life-cycle notification about a channel: reauthorize (or renew) it, or open a new one. */
export const CHANNEL_LIFECYCLE_JOB = defineJob<ChannelLifecyclePayload>('channel-lifecycle', {
  jobKeyMode: 'replace',
  maxAttempts: 8,
});

/** One waiting life-cycle job per calendar: Graph may repeat a life-cycle notification. */
export function channelLifecycleJobOptions(selectedCalendarId: number): EnqueueOptions {
  return { ...CHANNEL_LIFECYCLE_JOB.options, jobKey: `channel-lifecycle:${selectedCalendarId}` };
}

export interface StopChannelPayload {
  provider: ProviderName;
  credentialId: number;
  /** The provider's channel handle, as stored (see ChannelStore), its expiration as ISO or null. */
  channel: { id: string; resourceId: string | null; resourceUri: string | null; kind: string | null; expiration: string | null };
  /** The credential's sealed tokens, for when the credential itself is being deleted. */
  sealedKey: string;
}

/**
 * Stop a channel whose calendar row is going away (a calendar unselected, a credential deleted):
 * enqueued by connections in the transaction that deletes the row, run by subscriptions. Also
 * queued by subscriptions itself for a channel replaced for carrying a retired webhook secret.
 */
export const STOP_CHANNEL_JOB = defineJob<StopChannelPayload>('stop-channel', { maxAttempts: 5 });

/** One job per channel. */
export function stopChannelJobOptions(channelId: string): EnqueueOptions {
  return { ...STOP_CHANNEL_JOB.options, jobKey: `stop-channel:${channelId}` };
}
