/**
 * The sync-preferences module's public surface: all another module may import from it, besides
 * `sync-preferences.module.ts` (global, so `SyncPreferencesService` needs no module import).
 * Everything else in this folder is internal. Tables: "UserSyncPreferences", "TeamSyncPreferences".
 */
export {
  type ApplyField,
  CONFLICT_POLICIES,
  type ConflictPolicy,
  DEFAULT_PREFERENCES,
  type PreferenceExplanation,
  type PreferenceSource,
  type SyncPreferences,
} from './domain/resolve-preferences.js';
export { SyncPreferencesModule } from './sync-preferences.module.js';
export { SyncPreferencesService } from './sync-preferences.service.js';
