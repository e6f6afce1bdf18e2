import { Command } from '@nestjs/cqrs';
import type { TeamEntity } from '../entities/team.entity.js';

export class CreateTeamCommand extends Command<TeamEntity> {
  constructor(readonly input: { id?: number; name: string; parentId?: number | null }) {
    super();
  }
}
