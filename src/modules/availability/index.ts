/**
 * The availability module's public surface: all another module may import from it, besides
 * `availability.module.ts`. It owns no table: it reads calendars through connections' read model,
 * the cache through sync's, and the rest live from the providers.
 */
export { type CalendarEventKey, type ConflictingBusy, GetConflictingBusyQuery } from './queries/get-conflicting-busy.query.js';
