import { type IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { DataSource } from 'typeorm';
import { UserNotFoundError } from '../accounts.errors.js';
import { UserEntity } from '../entities/user.entity.js';
import { GetUserQuery } from './get-user.query.js';

@QueryHandler(GetUserQuery)
export class GetUserHandler implements IQueryHandler<GetUserQuery> {
  constructor(private readonly dataSource: DataSource) {}

  async execute({ userId }: GetUserQuery): Promise<UserEntity> {
    const user = await this.dataSource.manager.findOneBy(UserEntity, { id: userId });
    if (!user) throw new UserNotFoundError(userId);
    return user;
  }
}
