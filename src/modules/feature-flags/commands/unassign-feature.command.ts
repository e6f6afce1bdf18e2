import { Command } from '@nestjs/cqrs';
import type { AssignmentScope } from '../domain/feature-assignment.js';

/** Removes a user's or team's assignment, so the next level (team, then global) decides again. */
export class UnassignFeatureCommand extends Command<void> {
  constructor(
    readonly slug: string,
    readonly scope: AssignmentScope,
    readonly targetId: number,
  ) {
    super();
  }
}
