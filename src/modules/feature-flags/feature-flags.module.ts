import { Global, Module } from '@nestjs/common';
import { FeatureFlagService } from './feature-flag.service.js';
import { ResolveFeatureHandler } from './queries/is-feature-enabled.handler.js';

@Global()
@Module({
  providers: [FeatureFlagService, ResolveFeatureHandler],
  exports: [FeatureFlagService],
})
export class FeatureFlagsModule {}
