import { Query } from '@nestjs/cqrs';
import type { FeatureEntity } from '../entities/feature.entity.js';

/** Resolves to the flag, or throws `FeatureNotFoundError`. */
export class GetFeatureQuery extends Query<FeatureEntity> {
  constructor(readonly slug: string) {
    super();
  }
}
