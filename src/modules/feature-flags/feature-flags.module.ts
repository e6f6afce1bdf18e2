import { Global, Module } from '@nestjs/common';
import { AssignmentTargets } from './assignment-targets.js';
import { AssignFeatureHandler } from './commands/assign-feature.handler.js';
import { CreateFeatureHandler } from './commands/create-feature.handler.js';
import { UnassignFeatureHandler } from './commands/unassign-feature.handler.js';
import { UpdateFeatureHandler } from './commands/update-feature.handler.js';
import { FeatureFlagService } from './feature-flag.service.js';
import { FeatureFlagRepository } from './feature-flag.repository.js';
import { FeatureFlagsAdminController } from './feature-flags-admin.controller.js';
import { FeatureGuard } from './feature.guard.js';
import { ExplainFeatureHandler } from './queries/explain-feature.handler.js';
import { GetFeatureHandler } from './queries/get-feature.handler.js';
import { ResolveFeatureHandler } from './queries/resolve-feature.handler.js';
import { ListFeaturesHandler } from './queries/list-features.handler.js';

/**
 * Global so any module can consult `FeatureFlagService` or put `@RequireFeature(slug)` (which
 * uses the exported `FeatureGuard`) on a route without importing this module.
 */
@Global()
@Module({
  controllers: [FeatureFlagsAdminController],
  providers: [
    FeatureFlagService,
    FeatureFlagRepository,
    AssignmentTargets,
    FeatureGuard,
    ResolveFeatureHandler,
    ExplainFeatureHandler,
    GetFeatureHandler,
    ListFeaturesHandler,
    CreateFeatureHandler,
    UpdateFeatureHandler,
    AssignFeatureHandler,
    UnassignFeatureHandler,
  ],
  exports: [FeatureFlagService, FeatureGuard],
})
export class FeatureFlagsModule {}
