/**
 * What kind of failure a domain error is. `HttpExceptionFilter` maps each kind to one HTTP status
 * (invalid 400, forbidden 403, not_found 404, conflict 409); nothing below the controllers knows HTTP.
 */
export type DomainErrorKind = 'invalid' | 'forbidden' | 'not_found' | 'conflict';

/**
 * A failure the caller can understand and act on. Each module declares its own in
 * `<module>.errors.ts` and throws those from handlers, services and repositories, never Nest's
 * HTTP exceptions (those stay in controllers, guards and pipes).
 */
export abstract class DomainError extends Error {
  abstract readonly kind: DomainErrorKind;

  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
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
