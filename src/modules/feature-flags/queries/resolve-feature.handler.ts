import { type IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import type { FlagResolution } from '../domain/resolve-flag.js';
import { FeatureFlagService } from '../feature-flag.service.js';
import { ResolveFeatureQuery } from './resolve-feature.query.js';

@QueryHandler(ResolveFeatureQuery)
export class ResolveFeatureHandler implements IQueryHandler<ResolveFeatureQuery> {
  constructor(private readonly flags: FeatureFlagService) {}

  execute({ slug, userId }: ResolveFeatureQuery): Promise<FlagResolution> {
    return this.flags.resolve(slug, userId);
  }
}
