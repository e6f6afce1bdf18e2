import { type IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { DataSource } from 'typeorm';
import { TeamNotFoundError } from '../accounts.errors.js';
import { TeamEntity } from '../entities/team.entity.js';
import { GetTeamQuery } from './get-team.query.js';

@QueryHandler(GetTeamQuery)
export class GetTeamHandler implements IQueryHandler<GetTeamQuery> {
  constructor(private readonly dataSource: DataSource) {}

  async execute({ teamId }: GetTeamQuery): Promise<TeamEntity> {
    const team = await this.dataSource.manager.findOneBy(TeamEntity, { id: teamId });
    if (!team) throw new TeamNotFoundError(teamId);
    return team;
  }
}
