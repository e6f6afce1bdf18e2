/**
 * The connections module's public surface (credentials, OAuth, selected and destination
 * calendars): all another module may import from it, besides `connections.module.ts` and the
 * declared read models in `read-models/`. Everything else in this folder is internal (its entities
 * above all); `npm run lint` refuses imports of it from other modules. Tables: "Credential",
 * "DestinationCalendar", and "SelectedCalendar", whose identity columns connections owns (the
 * `channel*` group belongs to subscriptions, the cursor, error and cache group to sync).
 */
import type { CredentialEntity } from './entities/credential.entity.js';
import type { SelectedCalendarEntity } from './entities/selected-calendar.entity.js';

export {
  CalendarAlreadySelectedError,
  CalendarNotInListError,
  ConcurrentCalendarChangeError,
  CredentialInvalidError,
  CredentialNotFoundError,
  CredentialUnreadableError,
  ProviderNotEnabledError,
  SelectedCalendarNotFoundError,
} from './connections.errors.js';
export { ConnectionsModule } from './connections.module.js';
export { ConnectionsService } from './connections.service.js';
export { CredentialAuthFactory, type ResealReport } from './credential-auth.factory.js';
export { CredentialInvalidated } from './events/credential-invalidated.event.js';
export {
  type FollowedCalendar,
  type FollowedCalendarsFilter,
  ListFollowedCalendarsQuery,
} from './queries/list-followed-calendars.query.js';

/** A SelectedCalendar row as read (by a read model or a port), never written through. */
export type SelectedCalendarRecord = Readonly<SelectedCalendarEntity>;

/** A Credential row as read; its tokens stay sealed (open them with `CredentialAuthFactory`). */
export type CredentialRecord = Readonly<CredentialEntity>;
