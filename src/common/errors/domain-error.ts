/**
 * What kind of failure a domain error is. `HttpExceptionFilter` maps each kind to one HTTP status
 * (invalid 400, forbidden 403, not_found 404, conflict 409, unprocessable 422); nothing below the
 * controllers knows HTTP.
 */
export type DomainErrorKind = 'invalid' | 'forbidden' | 'not_found' | 'conflict' | 'unprocessable';

/**
 * A failure the caller can understand and act on. Each module declares its own in
 * `<module>.errors.ts` and throws those from handlers, services and repositories, never Nest's
 * HTTP exceptions (those stay in controllers, guards and pipes).
 */
export abstract class DomainError extends Error {
  abstract readonly kind: DomainErrorKind;
  /**
   * The stable, machine-readable `code` of the problem+json answer. By default the class name in
   * snake_case without the `Error` suffix (`BookingNotFoundError` → `booking_not_found`); a
   * subclass may pass its own. Clients branch on it, so renaming a class changes the API: pass
   * the old code explicitly when you rename.
   */
  readonly code: string;

  constructor(message: string, code?: string) {
    super(message);
    this.name = new.target.name;
    this.code = code ?? codeFromClassName(new.target.name);
  }
}

/** `BookingNotFoundError` → `booking_not_found`; `OAuthStateError` → `oauth_state`. */
export function codeFromClassName(name: string): string {
  return name
    .replace(/Error$/, '')
    .replace(/OAuth/g, 'Oauth')
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .toLowerCase();
}

/** The request asks for something that can never work as asked (answered 400). */
export abstract class InvalidRequestError extends DomainError {
  readonly kind = 'invalid' as const;
}

/** Something the request names does not exist (answered 404). */
export abstract class NotFoundError extends DomainError {
  readonly kind = 'not_found' as const;
}

/** The request clashes with the current state, e.g. the identity is taken (answered 409). */
export abstract class ConflictError extends DomainError {
  readonly kind = 'conflict' as const;
}
