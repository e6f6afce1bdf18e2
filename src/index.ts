/**
 * calsync's public API for teams that extend it ("Extending calsync" in the README): import from
 * here, not from deep paths, which may change. `npm run lint` holds `src/extensions/` to this file.
 */
export { type CalsyncOptions, runCalsync } from './bootstrap/run-calsync.js';
export { createApp } from './bootstrap/create-app.js';
export { loadConfig } from './config/load-config.js';
export type { AppConfig } from './config/app-config.js';
export {
  type HostEventEnvelope,
  type HostEventHandler,
  HostEventSubscriptions,
  HOST_EVENT_TYPES,
  type HostEventType,
} from './modules/host-events/index.js';
export { AdminRoute, ApiKeyProtected, PublicRoute } from './common/auth/api-auth.decorator.js';
export { IdParamPipe } from './common/validation/id-param.pipe.js';
