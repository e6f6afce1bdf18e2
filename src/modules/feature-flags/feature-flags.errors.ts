import { ConflictError, NotFoundError } from '../../common/errors/domain-error.js';
import type { AssignmentScope } from './domain/feature-assignment.js';

export class FeatureNotFoundError extends NotFoundError {
  constructor(readonly slug: string) {
    super(`Feature "${slug}" not found`);
  }
}

export class FeatureExistsError extends ConflictError {
  constructor(readonly slug: string) {
    super(`Feature "${slug}" already exists`);
  }
}

/** The flag and its target exist, but the target has no assignment of the flag. */
export class AssignmentNotFoundError extends NotFoundError {
  constructor(
    readonly slug: string,
    readonly scope: AssignmentScope,
    readonly targetId: number,
  ) {
    super(`${scope === 'user' ? 'User' : 'Team'} ${targetId} has no assignment of feature "${slug}"`);
  }
}
