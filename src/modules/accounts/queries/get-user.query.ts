import { Query } from '@nestjs/cqrs';
import { UserEntity } from '../entities/user.entity.js';

/** Resolves to the user, or throws 404. */
export class GetUserQuery extends Query<UserEntity> {
  constructor(readonly userId: number) {
    super();
  }
}
