import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import { ApiTags, ApiCreatedResponse, ApiOkResponse, ApiOperation } from '@nestjs/swagger';
import { ApiKeyProtected } from '../../common/auth/api-auth.decorator.js';
import { IdParamPipe } from '../../common/validation/id-param.pipe.js';
import { CreateTeamCommand } from './commands/create-team.command.js';
import { CreateUserCommand } from './commands/create-user.command.js';
import { SetMembershipCommand } from './commands/set-membership.command.js';
import { CreateTeamDto } from './dto/create-team.dto.js';
import { CreateUserDto } from './dto/create-user.dto.js';
import type { TeamEntity } from './entities/team.entity.js';
import type { UserEntity } from './entities/user.entity.js';
import { GetUserQuery } from './queries/get-user.query.js';
import { TeamResponse, UserResponse } from './dto/account.response.js';
import { NoBody } from '../../common/validation/no-body.js';

@ApiTags('users and teams')
@ApiKeyProtected()
@Controller('api/v1')
export class AccountsController {
  constructor(
    private readonly commands: CommandBus,
    private readonly queries: QueryBus,
  ) {}

  @ApiCreatedResponse({ type: UserResponse })
  @Post('users')
  async createUser(@Body() body: CreateUserDto) {
    return toUserView(await this.commands.execute(new CreateUserCommand(body)));
  }

  @ApiOkResponse({ type: UserResponse })
  @Get('users/:userId')
  async getUser(@Param('userId', IdParamPipe) userId: number) {
    return toUserView(await this.queries.execute(new GetUserQuery(userId)));
  }

  @ApiCreatedResponse({ type: TeamResponse })
  @Post('teams')
  async createTeam(@Body() body: CreateTeamDto) {
    return toTeamView(await this.commands.execute(new CreateTeamCommand(body)));
  }

  @ApiOperation({ operationId: 'addTeamMember' })
  @Put('teams/:teamId/members/:userId')
  @HttpCode(204)
  async addMember(
    @NoBody() _body: undefined,
    @Param('teamId', IdParamPipe) teamId: number,
    @Param('userId', IdParamPipe) userId: number,
  ) {
    await this.commands.execute(new SetMembershipCommand(teamId, userId, true));
  }

  @ApiOperation({ operationId: 'removeTeamMember' })
  @Delete('teams/:teamId/members/:userId')
  @HttpCode(204)
  async removeMember(@Param('teamId', IdParamPipe) teamId: number, @Param('userId', IdParamPipe) userId: number) {
    await this.commands.execute(new SetMembershipCommand(teamId, userId, false));
  }
}

function toUserView(user: UserEntity) {
  return { id: user.id, email: user.email, name: user.name, timeZone: user.timeZone, createdAt: user.createdAt };
}

function toTeamView(team: TeamEntity) {
  return { id: team.id, name: team.name, parentId: team.parentId, createdAt: team.createdAt };
}
