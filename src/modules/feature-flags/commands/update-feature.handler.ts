import { CommandHandler, EventBus, type ICommandHandler } from '@nestjs/cqrs';
import type { FeatureEntity } from '../entities/feature.entity.js';
import { FeatureFlagChanged } from '../events/feature-flag-changed.event.js';
import { FeatureFlagService } from '../feature-flag.service.js';
import { FeatureFlagRepository } from '../feature-flag.repository.js';
import { FeatureNotFoundError } from '../feature-flags.errors.js';
import { UpdateFeatureCommand } from './update-feature.command.js';

@CommandHandler(UpdateFeatureCommand)
export class UpdateFeatureHandler implements ICommandHandler<UpdateFeatureCommand> {
  constructor(
    private readonly features: FeatureFlagRepository,
    private readonly flags: FeatureFlagService,
    private readonly eventBus: EventBus,
  ) {}

  async execute({ slug, enabled, actor }: UpdateFeatureCommand): Promise<FeatureEntity> {
    const written = await this.features.setEnabled(slug, enabled, actor);
    if (!written) throw new FeatureNotFoundError(slug);
    // Also on a no-op: rows written by SQL behind the service's back become visible at once.
    this.flags.invalidate();
    if (written.changed) this.eventBus.publish(new FeatureFlagChanged(slug, 'global'));
    return written.row;
  }
}
