import { type IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { AssignmentTargets } from '../assignment-targets.js';
import type { FlagResolution } from '../domain/resolve-flag.js';
import { FeatureFlagService } from '../feature-flag.service.js';
import { ExplainFeatureQuery } from './explain-feature.query.js';

@QueryHandler(ExplainFeatureQuery)
export class ExplainFeatureHandler implements IQueryHandler<ExplainFeatureQuery> {
  constructor(
    private readonly targets: AssignmentTargets,
    private readonly flags: FeatureFlagService,
  ) {}

  async execute({ slug, userId }: ExplainFeatureQuery): Promise<FlagResolution> {
    await this.targets.ensure(slug, 'user', userId);
    // The same resolution (and cache) the guard, the tasks and the sync jobs use.
    return this.flags.resolve(slug, userId);
  }
}
