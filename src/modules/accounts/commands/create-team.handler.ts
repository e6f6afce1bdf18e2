import { ConflictException, NotFoundException } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { DataSource } from 'typeorm';
import { insertWithOptionalId } from '../../../infrastructure/database/insert-with-optional-id.js';
import { TeamEntity } from '../entities/team.entity.js';
import { CreateTeamCommand } from './create-team.command.js';

@CommandHandler(CreateTeamCommand)
export class CreateTeamHandler implements ICommandHandler<CreateTeamCommand> {
  constructor(private readonly dataSource: DataSource) {}

  async execute({ input }: CreateTeamCommand): Promise<TeamEntity> {
    return this.dataSource.transaction(async (manager) => {
      if (input.id && (await manager.existsBy(TeamEntity, { id: input.id }))) {
        throw new ConflictException(`Team ${input.id} already exists`);
      }
      if (input.parentId && !(await manager.existsBy(TeamEntity, { id: input.parentId }))) {
        throw new NotFoundException(`Parent team ${input.parentId} not found`);
      }
      const id = await insertWithOptionalId(manager, 'Team', input.id, {
        name: input.name.trim(),
        parentId: input.parentId ?? null,
      });
      return manager.findOneByOrFail(TeamEntity, { id });
    });
  }
}
