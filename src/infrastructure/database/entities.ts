import { MembershipEntity } from '../../modules/accounts/entities/membership.entity.js';
import { TeamEntity } from '../../modules/accounts/entities/team.entity.js';
import { UserEntity } from '../../modules/accounts/entities/user.entity.js';
import { AttendeeEntity } from '../../modules/bookings/entities/attendee.entity.js';
import { BookingHistoryEntity } from '../../modules/bookings/entities/booking-history.entity.js';
import { BookingReferenceEntity } from '../../modules/bookings/entities/booking-reference.entity.js';
import { BookingEntity } from '../../modules/bookings/entities/booking.entity.js';
import { ExternalEventChangeEntity } from '../../modules/bookings/entities/external-event-change.entity.js';
import { CredentialEntity } from '../../modules/connections/entities/credential.entity.js';
import { DestinationCalendarEntity } from '../../modules/connections/entities/destination-calendar.entity.js';
import { SelectedCalendarEntity } from '../../modules/connections/entities/selected-calendar.entity.js';
import { FeatureEntity } from '../../modules/feature-flags/entities/feature.entity.js';
import { TeamFeatureEntity } from '../../modules/feature-flags/entities/team-feature.entity.js';
import { UserFeatureEntity } from '../../modules/feature-flags/entities/user-feature.entity.js';
import { CalendarCacheEventEntity } from '../../modules/sync/entities/calendar-cache-event.entity.js';

export const ENTITIES = [
  UserEntity,
  TeamEntity,
  MembershipEntity,
  CredentialEntity,
  SelectedCalendarEntity,
  DestinationCalendarEntity,
  BookingEntity,
  AttendeeEntity,
  BookingReferenceEntity,
  BookingHistoryEntity,
  ExternalEventChangeEntity,
  CalendarCacheEventEntity,
  FeatureEntity,
  UserFeatureEntity,
  TeamFeatureEntity,
];
