import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Put, Query } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import { ApiHeader, ApiTags, ApiCreatedResponse, ApiOkResponse, ApiOperation } from '@nestjs/swagger';
import { AdminRoute, ApiKeyProtected } from '../../common/auth/api-auth.decorator.js';
import { PageQueryDto, decodeCursor, pageFrom, pageLimit } from '../../common/pagination/pagination.js';
import { IdParamPipe } from '../../common/validation/id-param.pipe.js';
import { AdminActor, DEFAULT_ACTOR } from './admin-actor.decorator.js';
import { AssignFeatureCommand } from './commands/assign-feature.command.js';
import { CreateFeatureCommand } from './commands/create-feature.command.js';
import { UnassignFeatureCommand } from './commands/unassign-feature.command.js';
import { UpdateFeatureCommand } from './commands/update-feature.command.js';
import type { AssignmentScope, FeatureAssignment } from './domain/feature-assignment.js';
import { AssignFeatureDto } from './dto/assign-feature.dto.js';
import { CreateFeatureDto } from './dto/create-feature.dto.js';
import { UpdateFeatureDto } from './dto/update-feature.dto.js';
import type { FeatureEntity } from './entities/feature.entity.js';
import { ExplainFeatureQuery } from './queries/explain-feature.query.js';
import { GetFeatureQuery } from './queries/get-feature.query.js';
import { ListFeaturesQuery } from './queries/list-features.query.js';
import { ApiPageResponse } from '../../common/openapi/responses.js';
import { FeatureAssignmentResponse, FeatureExplanationResponse, FeatureResponse } from './dto/feature.response.js';
import { TextParamPipe } from '../../common/validation/text-param.pipe.js';

const FEATURES_CURSOR = 'features';

@ApiTags('admin: feature flags')
@ApiHeader({
  name: 'X-Actor',
  required: false,
  description: `Who makes the change, for the audit columns (default "${DEFAULT_ACTOR}")`,
})
@AdminRoute()
@ApiKeyProtected()
@Controller('api/v1/admin/features')
export class FeatureFlagsAdminController {
  constructor(
    private readonly commands: CommandBus,
    private readonly queries: QueryBus,
  ) {}

  /** Flags by slug, a page at a time (`{items, nextCursor}`). */
  @ApiPageResponse(FeatureResponse)
  @Get()
  async list(@Query() query: PageQueryDto) {
    const limit = pageLimit(query.limit);
    const [afterSlug] = (decodeCursor(FEATURES_CURSOR, query.after, ['string']) ?? []) as string[];
    const rows = await this.queries.execute(new ListFeaturesQuery({ afterSlug, limit: limit + 1 }));
    return pageFrom(FEATURES_CURSOR, rows, limit, (f) => [f.slug], toFeatureView);
  }

  @ApiCreatedResponse({ type: FeatureResponse })
  @Post()
  async create(@Body() body: CreateFeatureDto, @AdminActor() actor: string) {
    return toFeatureView(await this.commands.execute(new CreateFeatureCommand(body, actor)));
  }

  @ApiOkResponse({ type: FeatureResponse })
  @Get(':slug')
  async get(@Param('slug', TextParamPipe) slug: string) {
    return toFeatureView(await this.queries.execute(new GetFeatureQuery(slug)));
  }

  @ApiOkResponse({ type: FeatureResponse })
  @Patch(':slug')
  async update(@Param('slug', TextParamPipe) slug: string, @Body() body: UpdateFeatureDto, @AdminActor() actor: string) {
    return toFeatureView(await this.commands.execute(new UpdateFeatureCommand(slug, body.enabled, actor)));
  }

  /** Whether the flag is on for the user, and which level decided: "user", "team" or "global". */
  @ApiOkResponse({ type: FeatureExplanationResponse })
  @ApiOperation({ operationId: 'explainFeatureFlagForUser' })
  @Get(':slug/users/:userId')
  async explain(@Param('slug', TextParamPipe) slug: string, @Param('userId', IdParamPipe) userId: number) {
    const { enabled, reason } = await this.queries.execute(new ExplainFeatureQuery(slug, userId));
    return { enabled, reason };
  }

  @ApiOkResponse({ type: FeatureAssignmentResponse })
  @ApiOperation({ operationId: 'assignFeatureFlagToUser' })
  @Put(':slug/users/:userId')
  assignUser(
    @Param('slug', TextParamPipe) slug: string,
    @Param('userId', IdParamPipe) userId: number,
    @Body() body: AssignFeatureDto,
    @AdminActor() actor: string,
  ) {
    return this.assign(slug, 'user', userId, body, actor);
  }

  @ApiOperation({ operationId: 'unassignFeatureFlagFromUser' })
  @Delete(':slug/users/:userId')
  @HttpCode(204)
  async unassignUser(@Param('slug', TextParamPipe) slug: string, @Param('userId', IdParamPipe) userId: number) {
    await this.commands.execute(new UnassignFeatureCommand(slug, 'user', userId));
  }

  @ApiOkResponse({ type: FeatureAssignmentResponse })
  @ApiOperation({ operationId: 'assignFeatureFlagToTeam' })
  @Put(':slug/teams/:teamId')
  assignTeam(
    @Param('slug', TextParamPipe) slug: string,
    @Param('teamId', IdParamPipe) teamId: number,
    @Body() body: AssignFeatureDto,
    @AdminActor() actor: string,
  ) {
    return this.assign(slug, 'team', teamId, body, actor);
  }

  @ApiOperation({ operationId: 'unassignFeatureFlagFromTeam' })
  @Delete(':slug/teams/:teamId')
  @HttpCode(204)
  async unassignTeam(@Param('slug', TextParamPipe) slug: string, @Param('teamId', IdParamPipe) teamId: number) {
    await this.commands.execute(new UnassignFeatureCommand(slug, 'team', teamId));
  }

  private async assign(slug: string, scope: AssignmentScope, targetId: number, body: AssignFeatureDto, actor: string) {
    const assignment = await this.commands.execute(new AssignFeatureCommand(slug, scope, targetId, body.enabled ?? true, actor));
    return toAssignmentView(scope, assignment);
  }
}

function toFeatureView(feature: FeatureEntity) {
  return {
    slug: feature.slug,
    enabled: feature.enabled,
    description: feature.description,
    type: feature.type,
    stale: feature.stale,
    lastUsedAt: feature.lastUsedAt,
    createdAt: feature.createdAt,
    updatedAt: feature.updatedAt,
    updatedBy: feature.updatedBy,
  };
}

function toAssignmentView(scope: AssignmentScope, assignment: FeatureAssignment) {
  return {
    featureId: assignment.featureId,
    ...(scope === 'user' ? { userId: assignment.userId } : { teamId: assignment.teamId }),
    enabled: assignment.enabled,
    assignedAt: assignment.assignedAt,
    assignedBy: assignment.assignedBy,
    updatedAt: assignment.updatedAt,
  };
}
