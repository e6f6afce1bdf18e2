import { Query } from '@nestjs/cqrs';
import type { FlagResolution } from '../domain/resolve-flag.js';

/**
 * Whether a flag is on for a user and which level decided it, for admins. Unlike
 * ResolveFeatureQuery it throws (`FeatureNotFoundError`, `UserNotFoundError`) for an unknown flag
 * or user instead of answering "off".
 */
export class ExplainFeatureQuery extends Query<FlagResolution> {
  constructor(
    readonly slug: string,
    readonly userId: number,
  ) {
    super();
  }
}
