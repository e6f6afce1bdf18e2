import { BadRequestException, type CanActivate, type ExecutionContext, ForbiddenException, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { QueryBus } from '@nestjs/cqrs';
import { IdParamPipe } from '../../common/validation/id-param.pipe.js';
import { GetUserQuery } from '../accounts/index.js';
import { ResolveFeatureQuery } from './queries/resolve-feature.query.js';

export const REQUIRED_FEATURE_KEY = 'calsync:required-feature';

export interface FeatureRequirement {
  slug: string;
  /** The route parameter holding the user id. */
  userParam: string;
}

/**
 * Lets a request through only when the route's feature (see `@RequireFeature`) is on for the user
 * in its path: 400 without a valid user id, 404 for an unknown user, 403 when the flag is off.
 * Runs after the API key guard, so a caller without a key still gets 401 first.
 */
@Injectable()
export class FeatureGuard implements CanActivate {
  private readonly ids = new IdParamPipe();

  constructor(
    private readonly reflector: Reflector,
    private readonly queries: QueryBus,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const requirement = this.reflector.getAllAndOverride<FeatureRequirement | undefined>(REQUIRED_FEATURE_KEY, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (!requirement) return true;
    const { slug, userParam } = requirement;
    const request = context.switchToHttp().getRequest<{ params?: Record<string, string | undefined> }>();
    const raw = request.params?.[userParam];
    if (raw === undefined)
      throw new BadRequestException(`Feature "${slug}" is checked per user, but the route has no ${userParam}`);
    const userId = this.ids.transform(raw);
    const resolution = await this.queries.execute(new ResolveFeatureQuery(slug, userId));
    // A team's assignment proves the user exists (a membership row references the user); a user's
    // own assignment does not (the seed's rows may name ids no user has yet), nor the global answer.
    if (resolution.reason !== 'team') await this.queries.execute(new GetUserQuery(userId));
    if (!resolution.enabled) throw new ForbiddenException(`Feature "${slug}" is not enabled for user ${userId}`);
    return true;
  }
}
