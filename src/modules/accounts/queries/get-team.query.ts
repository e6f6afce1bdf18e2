import { Query } from '@nestjs/cqrs';
import type { TeamEntity } from '../entities/team.entity.js';

/** Resolves to the team, or throws `TeamNotFoundError`. */
export class GetTeamQuery extends Query<TeamEntity> {
  constructor(readonly teamId: number) {
    super();
  }
}
