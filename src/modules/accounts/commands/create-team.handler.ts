import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { DataSource } from 'typeorm';
import { onUniqueViolation } from '../../../common/errors/unique-violation.js';
import { insertWithOptionalId } from '../../../infrastructure/database/insert-with-optional-id.js';
import { ParentTeamNotFoundError, TEAM_ID_KEY, TeamIdTakenError } from '../accounts.errors.js';
import { TeamEntity } from '../entities/team.entity.js';
import { CreateTeamCommand } from './create-team.command.js';

@CommandHandler(CreateTeamCommand)
export class CreateTeamHandler implements ICommandHandler<CreateTeamCommand> {
  constructor(private readonly dataSource: DataSource) {}

  async execute({ input }: CreateTeamCommand): Promise<TeamEntity> {
    const { id } = input;
    const races: Record<string, () => TeamIdTakenError> = id ? { [TEAM_ID_KEY]: () => new TeamIdTakenError(id) } : {};
    return onUniqueViolation(races, () =>
      this.dataSource.transaction(async (manager) => {
        if (id && (await manager.existsBy(TeamEntity, { id }))) throw new TeamIdTakenError(id);
        if (input.parentId && !(await manager.existsBy(TeamEntity, { id: input.parentId }))) {
          throw new ParentTeamNotFoundError(input.parentId);
        }
        const created = await insertWithOptionalId(manager, 'Team', id, {
          name: input.name.trim(),
          parentId: input.parentId ?? null,
        });
        return manager.findOneByOrFail(TeamEntity, { id: created });
      }),
    );
  }
}
