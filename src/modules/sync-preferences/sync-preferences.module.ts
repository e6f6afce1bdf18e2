import { Global, Module } from '@nestjs/common';
import { SyncPreferencesAdminController, SyncPreferencesController } from './sync-preferences.controller.js';
import { SyncPreferencesService } from './sync-preferences.service.js';

/**
 * Global (like the feature flags) so the bookings module can consult `SyncPreferencesService`
 * when it applies a calendar change, without importing this module.
 */
@Global()
@Module({
  controllers: [SyncPreferencesController, SyncPreferencesAdminController],
  providers: [SyncPreferencesService],
  exports: [SyncPreferencesService],
})
export class SyncPreferencesModule {}
