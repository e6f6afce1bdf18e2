import { type IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import type { FeatureEntity } from '../entities/feature.entity.js';
import { FeatureFlagRepository } from '../feature-flag.repository.js';
import { FeatureNotFoundError } from '../feature-flags.errors.js';
import { GetFeatureQuery } from './get-feature.query.js';

@QueryHandler(GetFeatureQuery)
export class GetFeatureHandler implements IQueryHandler<GetFeatureQuery> {
  constructor(private readonly features: FeatureFlagRepository) {}

  async execute({ slug }: GetFeatureQuery): Promise<FeatureEntity> {
    const feature = await this.features.find(slug);
    if (!feature) throw new FeatureNotFoundError(slug);
    return feature;
  }
}
