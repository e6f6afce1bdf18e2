import { Injectable, NotFoundException } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { GetTeamQuery } from '../accounts/queries/get-team.query.js';
import { GetUserQuery } from '../accounts/queries/get-user.query.js';
import type { AssignmentScope } from './domain/feature-assignment.js';
import { FeatureFlagRepository } from './feature-flag.repository.js';

/** The 404s of the assignment routes, flag first, each with a message naming what is missing. */
@Injectable()
export class AssignmentTargets {
  constructor(
    private readonly features: FeatureFlagRepository,
    private readonly queries: QueryBus,
  ) {}

  async ensureFeature(slug: string): Promise<void> {
    if (!(await this.features.find(slug))) throw new NotFoundException(`Feature "${slug}" not found`);
  }

  async ensureTarget(scope: AssignmentScope, targetId: number): Promise<void> {
    if (scope === 'user') await this.queries.execute(new GetUserQuery(targetId));
    else await this.queries.execute(new GetTeamQuery(targetId));
  }

  async ensure(slug: string, scope: AssignmentScope, targetId: number): Promise<void> {
    await this.ensureFeature(slug);
    await this.ensureTarget(scope, targetId);
  }
}
