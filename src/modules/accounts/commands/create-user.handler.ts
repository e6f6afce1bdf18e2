import { ConflictException } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { DataSource } from 'typeorm';
import { insertWithOptionalId } from '../../../infrastructure/database/insert-with-optional-id.js';
import { UserEntity } from '../entities/user.entity.js';
import { CreateUserCommand } from './create-user.command.js';

@CommandHandler(CreateUserCommand)
export class CreateUserHandler implements ICommandHandler<CreateUserCommand> {
  constructor(private readonly dataSource: DataSource) {}

  async execute({ input }: CreateUserCommand): Promise<UserEntity> {
    const email = input.email.trim().toLowerCase();
    return this.dataSource.transaction(async (manager) => {
      const clash = await manager
        .createQueryBuilder(UserEntity, 'u')
        .where('lower(u.email) = :email', { email })
        .orWhere(input.id ? 'u.id = :id' : 'false', { id: input.id })
        .getOne();
      if (clash) {
        throw new ConflictException(
          clash.id === input.id ? `User ${input.id} already exists` : `A user with email ${email} already exists`,
        );
      }
      const id = await insertWithOptionalId(manager, 'User', input.id, {
        email,
        name: input.name ?? null,
        timeZone: input.timeZone,
      });
      return manager.findOneByOrFail(UserEntity, { id });
    });
  }
}
