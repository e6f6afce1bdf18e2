import { CommandHandler, EventBus, type ICommandHandler } from '@nestjs/cqrs';
import { AssignmentTargets } from '../assignment-targets.js';
import type { FeatureAssignment } from '../domain/feature-assignment.js';
import { FeatureFlagChanged } from '../events/feature-flag-changed.event.js';
import { FeatureFlagService } from '../feature-flag.service.js';
import { FeatureFlagRepository } from '../feature-flag.repository.js';
import { AssignFeatureCommand } from './assign-feature.command.js';

@CommandHandler(AssignFeatureCommand)
export class AssignFeatureHandler implements ICommandHandler<AssignFeatureCommand> {
  constructor(
    private readonly targets: AssignmentTargets,
    private readonly features: FeatureFlagRepository,
    private readonly flags: FeatureFlagService,
    private readonly eventBus: EventBus,
  ) {}

  async execute({ slug, scope, targetId, enabled, actor }: AssignFeatureCommand): Promise<FeatureAssignment> {
    // Checked first for readable 404s (the flag's foreign key still guards against its concurrent delete).
    await this.targets.ensure(slug, scope, targetId);
    const written = await this.features.upsertAssignment(scope, slug, targetId, enabled, actor);
    this.flags.invalidate();
    if (written.changed) this.eventBus.publish(new FeatureFlagChanged(slug, scope, targetId));
    return written.row;
  }
}
