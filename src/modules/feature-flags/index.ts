/**
 * The feature-flags module's public surface: all another module may import from it, besides
 * `feature-flags.module.ts` (global, so `FeatureFlagService` and `@RequireFeature` need no module
 * import). Everything else in this folder is internal; `npm run lint` refuses imports of it from
 * other modules. Tables: "Feature", "UserFeatures", "TeamFeatures".
 */
export type { FlagReason, FlagResolution } from './domain/resolve-flag.js';
export { FeatureFlagChanged, type FeatureFlagScope } from './events/feature-flag-changed.event.js';
export { CACHE_FLAG, FeatureFlagService, type FlagInputRow, flagInputsSql, SYNC_FLAG } from './feature-flag.service.js';
export { AssignmentNotFoundError, FeatureExistsError, FeatureNotFoundError } from './feature-flags.errors.js';
export { FeatureFlagsModule } from './feature-flags.module.js';
export { ResolveFeatureQuery } from './queries/resolve-feature.query.js';
export { RequireFeature } from './require-feature.decorator.js';
