import { Query } from '@nestjs/cqrs';
import type { FlagResolution } from '../domain/resolve-flag.js';

export class ResolveFeatureQuery extends Query<FlagResolution> {
  constructor(
    readonly slug: string,
    readonly userId: number,
  ) {
    super();
  }
}
