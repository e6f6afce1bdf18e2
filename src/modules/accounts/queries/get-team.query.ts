import { Query } from '@nestjs/cqrs';
import type { TeamEntity } from '../entities/team.entity.js';

/** Resolves to the team, or throws 404. */
export class GetTeamQuery extends Query<TeamEntity> {
  constructor(readonly teamId: number) {
    super();
  }
}
