import { SetMetadata, UseGuards, applyDecorators } from '@nestjs/common';
import { FeatureGuard, type FeatureRequirement, REQUIRED_FEATURE_KEY } from './feature.guard.js';

/**
 * Serves the route (or every route of the controller) only to users for whom the flag is on,
 * resolved like everywhere else: the user's assignment, else their teams' (and parent teams'),
 * else the flag's global switch. The user id is read from the `userId` route parameter, or the
 * one named in `options.userParam`.
 *
 * @example
 *   @Get('users/:userId/cached-events')
 *   @RequireFeature(CACHE_FLAG)
 */
export function RequireFeature(slug: string, options: { userParam?: string } = {}) {
  const requirement: FeatureRequirement = { slug, userParam: options.userParam ?? 'userId' };
  return applyDecorators(SetMetadata(REQUIRED_FEATURE_KEY, requirement), UseGuards(FeatureGuard));
}
