import { Command } from '@nestjs/cqrs';
import type { AssignmentScope, FeatureAssignment } from '../domain/feature-assignment.js';

/** Turns a flag on or off for one user or team. Assigning the value it already has changes nothing. */
export class AssignFeatureCommand extends Command<FeatureAssignment> {
  constructor(
    readonly slug: string,
    readonly scope: AssignmentScope,
    readonly targetId: number,
    readonly enabled: boolean,
    readonly actor: string,
  ) {
    super();
  }
}
