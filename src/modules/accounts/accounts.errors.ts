import { ConflictError, InvalidRequestError, NotFoundError } from '../../common/errors/domain-error.js';

/**
 * The unique constraints of accounts' tables a caller can run into when two requests create the
 * same user or team at once (the handlers check first, so only a race gets this far): each is that
 * caller's conflict. Any other unique violation in these tables is a bug.
 */
export const USER_ID_KEY = 'User_pkey';
export const USER_EMAIL_KEY = 'User_email_key';
export const TEAM_ID_KEY = 'Team_pkey';

export class UserNotFoundError extends NotFoundError {
  constructor(readonly userId: number) {
    super(`User ${userId} not found`);
  }
}

export class TeamNotFoundError extends NotFoundError {
  constructor(readonly teamId: number) {
    super(`Team ${teamId} not found`);
  }
}

export class ParentTeamNotFoundError extends NotFoundError {
  constructor(readonly parentId: number) {
    super(`Parent team ${parentId} not found`);
  }
}

export class UserIdTakenError extends ConflictError {
  constructor(readonly userId: number) {
    super(`User ${userId} already exists`);
  }
}

export class UserEmailTakenError extends ConflictError {
  constructor(readonly email: string) {
    super(`A user with email ${email} already exists`);
  }
}

export class TeamIdTakenError extends ConflictError {
  constructor(readonly teamId: number) {
    super(`Team ${teamId} already exists`);
  }
}

/**
 * A zone the runtime's Intl knows but PostgreSQL does not (ICU-only ids such as "VST"), or reads as
 * a fixed-offset abbreviation ("CET"): busy times place all-day events with it in SQL.
 */
export class UnknownTimeZoneError extends InvalidRequestError {
  constructor(readonly timeZone: string) {
    super(
      `timeZone "${timeZone}" is not a time zone the database reads as Intl does; use an IANA name such as Europe/Berlin or America/New_York`,
    );
  }
}
