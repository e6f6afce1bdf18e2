import { Injectable } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { GetTeamQuery, GetUserQuery } from '../accounts/index.js';
import type { AssignmentScope } from './domain/feature-assignment.js';
import { FeatureFlagRepository } from './feature-flag.repository.js';
import { FeatureNotFoundError } from './feature-flags.errors.js';

/** Existence checks of the assignment routes, flag first, each failing with an error naming what is missing. */
@Injectable()
export class AssignmentTargets {
  constructor(
    private readonly features: FeatureFlagRepository,
    private readonly queries: QueryBus,
  ) {}

  async ensureFeature(slug: string): Promise<void> {
    if (!(await this.features.find(slug))) throw new FeatureNotFoundError(slug);
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
