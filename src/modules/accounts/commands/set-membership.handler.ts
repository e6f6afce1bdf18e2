import { CommandHandler, EventBus, type ICommandHandler } from '@nestjs/cqrs';
import { DataSource } from 'typeorm';
import { TeamNotFoundError, UserNotFoundError } from '../accounts.errors.js';
import { MembershipEntity } from '../entities/membership.entity.js';
import { TeamEntity } from '../entities/team.entity.js';
import { UserEntity } from '../entities/user.entity.js';
import { MembershipChanged } from '../events/membership-changed.event.js';
import { SetMembershipCommand } from './set-membership.command.js';

/** Idempotent: adding a member twice or removing a non-member changes nothing. */
@CommandHandler(SetMembershipCommand)
export class SetMembershipHandler implements ICommandHandler<SetMembershipCommand> {
  constructor(
    private readonly dataSource: DataSource,
    private readonly eventBus: EventBus,
  ) {}

  async execute({ teamId, userId, member }: SetMembershipCommand): Promise<void> {
    const changed = await this.dataSource.transaction(async (manager) => {
      if (!(await manager.existsBy(TeamEntity, { id: teamId }))) throw new TeamNotFoundError(teamId);
      if (!(await manager.existsBy(UserEntity, { id: userId }))) throw new UserNotFoundError(userId);
      if (member) {
        const result = await manager
          .createQueryBuilder()
          .insert()
          .into(MembershipEntity)
          .values({ teamId, userId })
          .orIgnore()
          .execute();
        return (result.raw as unknown[]).length > 0;
      }
      const result = await manager.delete(MembershipEntity, { teamId, userId });
      return (result.affected ?? 0) > 0;
    });
    if (changed) this.eventBus.publish(new MembershipChanged(teamId, userId, member));
  }
}
