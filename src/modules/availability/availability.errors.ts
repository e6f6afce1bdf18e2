import { ConflictError, InvalidRequestError } from '../../common/errors/domain-error.js';

/** A busy-times range longer than availability answers. */
export class BusyRangeTooLongError extends InvalidRequestError {
  constructor(readonly maxDays: number) {
    super(`The range may span at most ${maxDays} days`);
  }
}

/**
 * A busy-source calendar whose credential was revoked: it cannot be read, and a calendar that
 * cannot be read must not look free, so the whole request fails until the account is reconnected.
 */
export class CalendarCredentialRevokedError extends ConflictError {
  constructor(
    readonly externalCalendarId: string,
    readonly credentialId: number,
  ) {
    super(`Calendar ${externalCalendarId} cannot be read: its credential ${credentialId} was revoked; connect it again`);
  }
}
