import { type IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import type { FeatureEntity } from '../entities/feature.entity.js';
import { FeatureFlagRepository } from '../feature-flag.repository.js';
import { ListFeaturesQuery } from './list-features.query.js';

@QueryHandler(ListFeaturesQuery)
export class ListFeaturesHandler implements IQueryHandler<ListFeaturesQuery> {
  constructor(private readonly features: FeatureFlagRepository) {}

  execute({ page }: ListFeaturesQuery): Promise<FeatureEntity[]> {
    return this.features.list(page);
  }
}
