import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { DataSource } from 'typeorm';
import { onUniqueViolation } from '../../../common/errors/unique-violation.js';
import { insertWithOptionalId } from '../../../infrastructure/database/insert-with-optional-id.js';
import { USER_EMAIL_KEY, USER_ID_KEY, UserEmailTakenError, UserIdTakenError } from '../accounts.errors.js';
import { UserEntity } from '../entities/user.entity.js';
import { CreateUserCommand } from './create-user.command.js';

@CommandHandler(CreateUserCommand)
export class CreateUserHandler implements ICommandHandler<CreateUserCommand> {
  constructor(private readonly dataSource: DataSource) {}

  async execute({ input }: CreateUserCommand): Promise<UserEntity> {
    const email = input.email.trim().toLowerCase();
    const { id } = input;
    const races = {
      [USER_EMAIL_KEY]: () => new UserEmailTakenError(email),
      ...(id ? { [USER_ID_KEY]: () => new UserIdTakenError(id) } : {}),
    };
    return onUniqueViolation(races, () =>
      this.dataSource.transaction(async (manager) => {
        const clash = await manager
          .createQueryBuilder(UserEntity, 'u')
          .where('lower(u.email) = :email', { email })
          .orWhere(id ? 'u.id = :id' : 'false', { id })
          .getOne();
        if (clash) throw clash.id === id ? new UserIdTakenError(clash.id) : new UserEmailTakenError(email);
        const created = await insertWithOptionalId(manager, 'User', id, {
          email,
          name: input.name ?? null,
          timeZone: input.timeZone,
        });
        return manager.findOneByOrFail(UserEntity, { id: created });
      }),
    );
  }
}
