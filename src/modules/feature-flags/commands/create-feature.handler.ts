import { CommandHandler, EventBus, type ICommandHandler } from '@nestjs/cqrs';
import type { FeatureEntity } from '../entities/feature.entity.js';
import { FeatureFlagChanged } from '../events/feature-flag-changed.event.js';
import { FeatureFlagService } from '../feature-flag.service.js';
import { FeatureFlagRepository } from '../feature-flag.repository.js';
import { FeatureExistsError } from '../feature-flags.errors.js';
import { CreateFeatureCommand } from './create-feature.command.js';

@CommandHandler(CreateFeatureCommand)
export class CreateFeatureHandler implements ICommandHandler<CreateFeatureCommand> {
  constructor(
    private readonly features: FeatureFlagRepository,
    private readonly flags: FeatureFlagService,
    private readonly eventBus: EventBus,
  ) {}

  async execute({ input, actor }: CreateFeatureCommand): Promise<FeatureEntity> {
    const feature = await this.features.create({
      slug: input.slug,
      enabled: input.enabled,
      description: input.description ?? null,
      type: input.type ?? 'RELEASE',
      actor,
    });
    if (!feature) throw new FeatureExistsError(input.slug);
    // Resolutions of a slug that did not exist yet were cached as "off".
    this.flags.invalidate();
    this.eventBus.publish(new FeatureFlagChanged(feature.slug, 'global'));
    return feature;
  }
}
