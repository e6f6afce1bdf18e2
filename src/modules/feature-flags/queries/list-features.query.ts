import { Query } from '@nestjs/cqrs';
import type { FeatureEntity } from '../entities/feature.entity.js';

/** Every flag, by slug. */
export class ListFeaturesQuery extends Query<FeatureEntity[]> {}
