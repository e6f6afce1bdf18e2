import { ConflictError, DomainError, InvalidRequestError, NotFoundError } from '../../common/errors/domain-error.js';

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

/**
 * The credential's tokens do not open with any key of `ENCRYPTION_KEY` (a wrong or dropped key, or
 * a sealed value moved from another row). Recorded as the calendar's sync error.
 */
export class CredentialUnreadableError extends ConflictError {
  constructor(readonly credentialId: number) {
    super(
      `Credential ${credentialId} cannot be opened with ENCRYPTION_KEY: restore the key it was sealed with (keys may be listed comma-separated), or connect the account again`,
    );
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

// ---- The three-step OAuth flow for host apps (oauth-flows.ts) -------------------------------------

/** `returnUrl` does not start with one of `OAUTH_RETURN_URLS`. */
export class OAuthReturnUrlNotAllowedError extends InvalidRequestError {
  constructor(configured: boolean) {
    super(
      configured
        ? 'returnUrl must start with one of the URLs configured in OAUTH_RETURN_URLS'
        : 'returnUrl is refused: this deployment sets no OAUTH_RETURN_URLS, so no OAuth flow can return anywhere',
      'return_url_not_allowed',
    );
  }
}

/** The callback's `state` is missing or was never issued by this service (nowhere safe to redirect to). */
export class OAuthStateInvalidError extends InvalidRequestError {
  constructor() {
    super('state is missing or unknown; start the connection again from the application', 'invalid_state');
  }
}

/** The completion code is unknown, or was already used (a code completes once). */
export class OAuthCodeInvalidError extends InvalidRequestError {
  constructor() {
    super('code is unknown or was already used; start the connection again', 'invalid_code');
  }
}

export class OAuthCodeExpiredError extends InvalidRequestError {
  constructor() {
    super('code has expired (a code must be completed within 10 minutes); start the connection again', 'code_expired');
  }
}

/**
 * The flow was started for another user than the one completing it: a consent link forwarded to
 * someone else. Nothing is stored, and the code is spent.
 */
export class OAuthFlowUserMismatchError extends DomainError {
  readonly kind = 'forbidden' as const;

  constructor() {
    super(
      'This connection was started for another user; nothing was stored. The signed-in user must start their own connection',
      'oauth_user_mismatch',
    );
  }
}
