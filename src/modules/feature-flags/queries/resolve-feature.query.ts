import { Query } from '@nestjs/cqrs';
import type { FlagResolution } from '../domain/resolve-flag.js';

/**
 * Whether a flag is on for a user and which level decided it, through the flag service's cache.
 * An unknown flag or user is simply "off" (see ExplainFeatureQuery for the admin's 404s).
 */
export class ResolveFeatureQuery extends Query<FlagResolution> {
  constructor(
    readonly slug: string,
    readonly userId: number,
  ) {
    super();
  }
}
