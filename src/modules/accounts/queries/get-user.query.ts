import { Query } from '@nestjs/cqrs';
import type { UserEntity } from '../entities/user.entity.js';

/** Resolves to the user, or throws `UserNotFoundError`. */
export class GetUserQuery extends Query<UserEntity> {
  constructor(readonly userId: number) {
    super();
  }
}
