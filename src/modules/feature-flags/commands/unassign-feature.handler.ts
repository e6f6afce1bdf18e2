import { CommandHandler, EventBus, type ICommandHandler } from '@nestjs/cqrs';
import { AssignmentTargets } from '../assignment-targets.js';
import { FeatureFlagChanged } from '../events/feature-flag-changed.event.js';
import { FeatureFlagService } from '../feature-flag.service.js';
import { FeatureFlagRepository } from '../feature-flag.repository.js';
import { AssignmentNotFoundError } from '../feature-flags.errors.js';
import { UnassignFeatureCommand } from './unassign-feature.command.js';

@CommandHandler(UnassignFeatureCommand)
export class UnassignFeatureHandler implements ICommandHandler<UnassignFeatureCommand> {
  constructor(
    private readonly targets: AssignmentTargets,
    private readonly features: FeatureFlagRepository,
    private readonly flags: FeatureFlagService,
    private readonly eventBus: EventBus,
  ) {}

  async execute({ slug, scope, targetId }: UnassignFeatureCommand): Promise<void> {
    if (await this.features.deleteAssignment(scope, slug, targetId)) {
      this.flags.invalidate();
      this.eventBus.publish(new FeatureFlagChanged(slug, scope, targetId));
      return;
    }
    // Nothing deleted: say whether the flag, the target or only the assignment is missing.
    await this.targets.ensure(slug, scope, targetId);
    throw new AssignmentNotFoundError(slug, scope, targetId);
  }
}
