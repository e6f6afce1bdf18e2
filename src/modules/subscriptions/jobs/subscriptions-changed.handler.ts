import { type IEventHandler, EventsHandler } from '@nestjs/cqrs';
import { Inject, Logger } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../../../config/app-config.js';
import { JobQueue } from '../../../infrastructure/queue/job-queue.js';
import { MembershipChanged } from '../../accounts/events/membership-changed.event.js';
import { CredentialInvalidated } from '../../connections/events/credential-invalidated.event.js';
import { FeatureFlagChanged } from '../../feature-flags/events/feature-flag-changed.event.js';
import { CACHE_FLAG, SYNC_FLAG } from '../../feature-flags/feature-flag.service.js';
import { RUN_TASK_JOB } from './subscription.jobs.js';

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
      .enqueue(
        RUN_TASK_JOB,
        { task: 'subscribe-calendars' },
        // A little later than now: the flag cache of other instances expires within two seconds.
        { jobKey: 'task:subscribe-calendars', jobKeyMode: 'replace', delayMs: 2500, maxAttempts: 3 },
      )
      .catch((error: Error) => this.logger.warn(`Could not queue subscribe-calendars: ${error.message}`));
  }
}
