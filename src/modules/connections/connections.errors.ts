import { ConflictError, NotFoundError } from '../../common/errors/domain-error.js';

/**
 * The unique constraints of connections' tables a caller can run into when two requests select
 * the same calendar, or set a user's destination calendar, at once (the service locks and checks
 * first, so only a race with a row not yet committed gets this far): each is that caller's
 * conflict. Any other unique violation in these tables is a bug.
 */
export const SELECTED_CALENDAR_KEY = 'SelectedCalendar_credential_externalId_key';
export const DESTINATION_CALENDAR_USER_KEY = 'DestinationCalendar_userId_key';

export class CredentialNotFoundError extends NotFoundError {
  constructor(
    readonly credentialId: number,
    readonly userId?: number,
  ) {
    super(`Credential ${credentialId} not found${userId === undefined ? '' : ` for user ${userId}`}`);
  }
}

/** The credential's grant was revoked (or refused) by the user: nothing can be done with it until reconnected. */
export class CredentialInvalidError extends ConflictError {
  constructor(
    readonly credentialId: number,
    readonly reason: string | null,
  ) {
    super(`Credential ${credentialId} is no longer valid (${reason ?? 'access revoked'}); connect the account again`);
  }
}

export class ProviderNotEnabledError extends NotFoundError {
  constructor(readonly provider: string) {
    super(`Provider ${provider} is not enabled in this deployment`);
  }
}

/** The provider does not list the calendar among the credential's calendars. */
export class CalendarNotInListError extends NotFoundError {
  constructor(
    readonly externalId: string,
    readonly credentialId: number,
  ) {
    super(`Calendar ${externalId} is not in the calendar list of credential ${credentialId}`);
  }
}

export class CalendarAlreadySelectedError extends ConflictError {
  constructor(readonly externalId: string) {
    super(`Calendar ${externalId} is already selected`);
  }
}

export class SelectedCalendarNotFoundError extends NotFoundError {
  constructor(
    readonly selectedCalendarId: number,
    readonly userId: number,
  ) {
    super(`Selected calendar ${selectedCalendarId} not found for user ${userId}`);
  }
}

/** Another request changed the same calendar row (or the user's destination) at the same moment. */
export class ConcurrentCalendarChangeError extends ConflictError {
  constructor(readonly externalId: string) {
    super(`Calendar ${externalId} was changed by another request at the same time; try again`);
  }
}
