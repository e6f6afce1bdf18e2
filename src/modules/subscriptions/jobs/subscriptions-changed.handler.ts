import { type IEventHandler, EventsHandler } from '@nestjs/cqrs';
import { Inject, Logger } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../../../config/app-config.js';
import { JobQueue } from '../../../infrastructure/queue/job-queue.js';
import { MembershipChanged } from '../../accounts/index.js';
import { CredentialInvalidated } from '../../connections/index.js';
import { CACHE_FLAG, FeatureFlagChanged, SYNC_FLAG } from '../../feature-flags/index.js';
import { RUN_TASK_JOB, runTaskJobOptions } from '../subscriptions.jobs.js';

type SubscriptionsChanged = FeatureFlagChanged | MembershipChanged | CredentialInvalidated;

/**
 * A flag or a team membership changed, or a user revoked a credential: who needs a channel may
 * have changed too (a revoked credential's channels are dropped). Rather than wait
 * for the next minute's tick, queue a `subscribe-calendars` run now (keyed, so a burst of admin
 * changes runs it once).
 */
@EventsHandler(FeatureFlagChanged, MembershipChanged, CredentialInvalidated)
export class SubscriptionsChangedHandler implements IEventHandler<SubscriptionsChanged> {
  private readonly logger = new Logger('SubscriptionsChanged');

  constructor(
    private readonly jobs: JobQueue,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async handle(event: SubscriptionsChanged): Promise<void> {
    // Where scheduled work is switched off (tests, a dedicated API-only instance) tasks run on demand.
    if (!this.config.schedulerEnabled) return;
    if (event instanceof FeatureFlagChanged && event.slug !== CACHE_FLAG && event.slug !== SYNC_FLAG) return;
    await this.jobs
      .enqueueJob(
        RUN_TASK_JOB,
        { task: 'subscribe-calendars' },
        // A little later than now: the flag cache of other instances expires within two seconds.
        runTaskJobOptions('subscribe-calendars', 'replace', 2500),
      )
      .catch((error: Error) => this.logger.warn(`Could not queue subscribe-calendars: ${error.message}`));
  }
}
