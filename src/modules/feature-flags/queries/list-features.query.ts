import { Query } from '@nestjs/cqrs';
import type { FeatureEntity } from '../entities/feature.entity.js';

/** Flags by slug, after `afterSlug`, at most `limit` (none: every flag). */
export class ListFeaturesQuery extends Query<FeatureEntity[]> {
  constructor(readonly page: { afterSlug?: string; limit?: number } = {}) {
    super();
  }
}
