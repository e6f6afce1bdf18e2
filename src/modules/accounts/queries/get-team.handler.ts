import { NotFoundException } from '@nestjs/common';
import { type IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { DataSource } from 'typeorm';
import { TeamEntity } from '../entities/team.entity.js';
import { GetTeamQuery } from './get-team.query.js';

@QueryHandler(GetTeamQuery)
export class GetTeamHandler implements IQueryHandler<GetTeamQuery> {
  constructor(private readonly dataSource: DataSource) {}

  async execute({ teamId }: GetTeamQuery): Promise<TeamEntity> {
    const team = await this.dataSource.manager.findOneBy(TeamEntity, { id: teamId });
    if (!team) throw new NotFoundException(`Team ${teamId} not found`);
    return team;
  }
}
