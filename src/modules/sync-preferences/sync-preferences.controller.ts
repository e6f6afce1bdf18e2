import { Body, Controller, Get, Param, Put } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AdminRoute, ApiKeyProtected } from '../../common/auth/api-auth.decorator.js';
import { IdParamPipe } from '../../common/validation/id-param.pipe.js';
import {
  SyncPreferencesExplanationResponse,
  SyncPreferencesResponse,
  UpdateSyncPreferencesDto,
} from './dto/sync-preferences.dto.js';
import { SyncPreferencesService } from './sync-preferences.service.js';

@ApiTags('sync preferences')
@ApiKeyProtected()
@Controller('api/v1')
export class SyncPreferencesController {
  constructor(private readonly preferences: SyncPreferencesService) {}

  /** The user's effective preferences: their own values over their teams' over the defaults. */
  @ApiOkResponse({ type: SyncPreferencesResponse })
  @ApiOperation({ operationId: 'getUserSyncPreferences' })
  @Get('users/:userId/sync-preferences')
  getUser(@Param('userId', IdParamPipe) userId: number) {
    return this.preferences.getUser(userId);
  }

  /** Stores the fields sent (null clears one); answers the user's effective preferences. */
  @ApiOkResponse({ type: SyncPreferencesResponse })
  @ApiOperation({ operationId: 'putUserSyncPreferences' })
  @Put('users/:userId/sync-preferences')
  putUser(@Param('userId', IdParamPipe) userId: number, @Body() body: UpdateSyncPreferencesDto) {
    return this.preferences.setUser(userId, body);
  }

  /** What a member of the team who set nothing gets: the team and its parents over the defaults. */
  @ApiOkResponse({ type: SyncPreferencesResponse })
  @ApiOperation({ operationId: 'getTeamSyncPreferences' })
  @Get('teams/:teamId/sync-preferences')
  getTeam(@Param('teamId', IdParamPipe) teamId: number) {
    return this.preferences.getTeam(teamId);
  }

  @ApiOkResponse({ type: SyncPreferencesResponse })
  @ApiOperation({ operationId: 'putTeamSyncPreferences' })
  @Put('teams/:teamId/sync-preferences')
  putTeam(@Param('teamId', IdParamPipe) teamId: number, @Body() body: UpdateSyncPreferencesDto) {
    return this.preferences.setTeam(teamId, body);
  }
}

@ApiTags('admin: sync preferences')
@AdminRoute()
@ApiKeyProtected()
@Controller('api/v1/admin/users')
export class SyncPreferencesAdminController {
  constructor(private readonly preferences: SyncPreferencesService) {}

  /** Each field's effective value for the user and where it comes from ("user", "team" with teamId, "default"). */
  @ApiOkResponse({ type: SyncPreferencesExplanationResponse })
  @ApiOperation({ operationId: 'explainUserSyncPreferences' })
  @Get(':userId/sync-preferences')
  explain(@Param('userId', IdParamPipe) userId: number) {
    return this.preferences.explainUser(userId);
  }
}
