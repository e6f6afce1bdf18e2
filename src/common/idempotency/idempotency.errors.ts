import { DomainError, InvalidRequestError } from '../errors/domain-error.js';

export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;

export class InvalidIdempotencyKeyError extends InvalidRequestError {
  constructor(detail: string) {
    super(detail, 'invalid_idempotency_key');
  }
}

/** The key was used before for another request (another body or another booking): 422. */
export class IdempotencyKeyReusedError extends DomainError {
  readonly kind = 'unprocessable' as const;

  constructor() {
    super(
      'This Idempotency-Key was already used for a different request (another body or target); use a new key for a new request',
      'idempotency_key_reused',
    );
  }
}
