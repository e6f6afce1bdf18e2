import { DomainError, InvalidRequestError } from '../../common/errors/domain-error.js';
import type { TaskName } from './subscriptions.jobs.js';

/**
 * A webhook request in which some item's secret (Google's channel token, Graph's `clientState`)
 * does not match: the whole request is refused (403), nothing in it is acted on. Thrown by the
 * command handler, which is where the secrets are checked.
 */
export class InvalidChannelTokenError extends DomainError {
  readonly kind = 'forbidden' as const;

  constructor() {
    super('Invalid channel token');
  }
}

/** No scheduled task of that name. */
export class UnknownTaskError extends InvalidRequestError {
  constructor(
    readonly task: string,
    known: readonly TaskName[],
  ) {
    super(`task must be one of: ${known.join(', ')}`);
  }
}
