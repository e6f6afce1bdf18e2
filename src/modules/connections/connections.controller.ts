import { BadRequestException, Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Query, Res } from '@nestjs/common';
import { ApiTags, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiResponse } from '@nestjs/swagger';
import type { ProviderName } from '../../config/app-config.js';
import { ApiKeyProtected, PublicRoute } from '../../common/auth/api-auth.decorator.js';
import { IdParamPipe } from '../../common/validation/id-param.pipe.js';
import { ConnectionsService } from './connections.service.js';
import { CalendarRefDto } from './dto/calendar-ref.dto.js';
import { PROVIDER_NAMES, isProviderName } from '../providers/provider-names.js';
import { CreateCredentialDto } from './dto/create-credential.dto.js';
import { CredentialEntity } from './entities/credential.entity.js';
import { SelectedCalendarEntity } from './entities/selected-calendar.entity.js';
import { OAuthFlows } from './oauth-flows.js';
import { CompleteOAuthDto, StartOAuthDto } from './dto/oauth-flow.dto.js';
import {
  CredentialResponse,
  DestinationCalendarResponse,
  ProviderCalendarResponse,
  SelectedCalendarResponse,
} from './dto/connection.response.js';
import { OneQueryValuePipe } from '../../common/validation/one-query-value.pipe.js';

interface RedirectReply {
  status(code: number): RedirectReply;
  redirect(url: string, code?: number): RedirectReply;
}

@ApiTags('connections')
@ApiKeyProtected()
@Controller('api/v1')
export class ConnectionsController {
  constructor(
    private readonly connections: ConnectionsService,
    private readonly flows: OAuthFlows,
  ) {}

  @ApiCreatedResponse({ type: CredentialResponse })
  @Post('users/:userId/credentials')
  async createCredential(@Param('userId', IdParamPipe) userId: number, @Body() body: CreateCredentialDto) {
    const credential = await this.connections.createCredential(userId, body.provider, {
      accessToken: body.accessToken,
      refreshToken: body.refreshToken,
      expiresAt: Date.parse(body.expiresAt),
    });
    return toCredentialView(credential);
  }

  @ApiOkResponse({ type: [CredentialResponse] })
  @Get('users/:userId/credentials')
  async listCredentials(@Param('userId', IdParamPipe) userId: number) {
    return (await this.connections.listCredentials(userId)).map(toCredentialView);
  }

  @Delete('users/:userId/credentials/:credentialId')
  @HttpCode(204)
  async deleteCredential(@Param('userId', IdParamPipe) userId: number, @Param('credentialId', IdParamPipe) credentialId: number) {
    await this.connections.deleteCredential(userId, credentialId);
  }

  /**
   * Step 1 of the OAuth flow for host apps: `{url}` to send the user's browser to. The flow is bound
   * to `userId` and comes back to `returnUrl` (under `OAUTH_RETURN_URLS`).
   */
  @ApiOperation({ operationId: 'startOAuth' })
  @ApiOkResponse({
    description: 'where to send the user’s browser',
    schema: { type: 'object', required: ['url'], properties: { url: { type: 'string', format: 'uri' } } },
  })
  @Post('integrations/:provider/oauth/start')
  @HttpCode(200)
  start(@Param('provider') provider: string, @Body() body: StartOAuthDto) {
    return this.flows.start(this.knownProvider(provider), body.userId, body.returnUrl, body.loginHint);
  }

  /**
   * The older way to start, kept so existing callers keep working, and now safe: it starts the same
   * flow as `POST …/oauth/start` and answers 302 to the provider instead of `{url}`. Its callback
   * no longer stores a credential (that was the forwarded-link attack: the signed state said who
   * the credential was for, whoever consented); like every flow it returns to `returnUrl` with a
   * one-time code that the host app completes for its signed-in user. So `returnUrl` is required.
   */
  @ApiOperation({ operationId: 'authorizeOAuth' })
  @ApiResponse({ status: 302, description: 'to the provider’s consent screen' })
  @Get('integrations/:provider/oauth/authorize')
  async authorize(
    @Param('provider') provider: string,
    @Query('userId', OneQueryValuePipe) userIdRaw: string | undefined,
    @Query('returnUrl', OneQueryValuePipe) returnUrl: string | undefined,
    @Query('loginHint', OneQueryValuePipe) loginHint: string | undefined,
    @Res() reply: RedirectReply,
  ) {
    const name = this.knownProvider(provider);
    const userId = new IdParamPipe().transform(userIdRaw ?? '');
    if (!returnUrl) throw new BadRequestException('returnUrl is required: where the browser returns with the code to complete');
    const { url } = await this.flows.start(name, userId, returnUrl, loginHint);
    reply.redirect(url, 302);
  }

  /**
   * Step 2: the provider redirects the user's browser here (no API key; the single-use state is the
   * proof). Answers 302 to the flow's returnUrl with `status=pending&code=…` or
   * `status=error&error=…`; an unknown state is a 400 (there is nowhere safe to send it).
   */
  @PublicRoute()
  @ApiOperation({ operationId: 'oauthCallback' })
  @ApiResponse({ status: 302, description: 'to the flow’s returnUrl, with status=pending&code=… or status=error&error=…' })
  @Get('integrations/:provider/oauth/callback')
  async callback(
    @Param('provider') provider: string,
    @Query('code', OneQueryValuePipe) code: string | undefined,
    @Query('state', OneQueryValuePipe) state: string | undefined,
    @Query('error', OneQueryValuePipe) error: string | undefined,
    @Res() reply: RedirectReply,
  ) {
    const name = this.knownProvider(provider);
    const location = await this.flows.callback(name, { code, state, error });
    reply.redirect(location, 302);
  }

  /**
   * Step 3: the host app completes the code for the user signed in now; 201 with the credential.
   * A code completes once, within 10 minutes, and only for the user its flow was started for.
   */
  @ApiOperation({ operationId: 'completeOAuth' })
  @ApiCreatedResponse({ type: CredentialResponse })
  @Post('integrations/oauth/complete')
  async complete(@Body() body: CompleteOAuthDto) {
    return toCredentialView(await this.flows.complete(body.code, body.userId));
  }

  @ApiOperation({ operationId: 'listProviderCalendars' })
  @ApiOkResponse({ type: [ProviderCalendarResponse] })
  @Get('users/:userId/credentials/:credentialId/calendars')
  async calendars(@Param('userId', IdParamPipe) userId: number, @Param('credentialId', IdParamPipe) credentialId: number) {
    return this.connections.listProviderCalendars(userId, credentialId);
  }

  @ApiOperation({ operationId: 'selectCalendar' })
  @ApiCreatedResponse({ type: SelectedCalendarResponse })
  @Post('users/:userId/selected-calendars')
  async select(@Param('userId', IdParamPipe) userId: number, @Body() body: CalendarRefDto) {
    return toSelectedCalendarView(await this.connections.addSelectedCalendar(userId, body.credentialId, body.externalId));
  }

  @ApiOperation({ operationId: 'listSelectedCalendars' })
  @ApiOkResponse({ type: [SelectedCalendarResponse] })
  @Get('users/:userId/selected-calendars')
  async selected(@Param('userId', IdParamPipe) userId: number) {
    return (await this.connections.listSelectedCalendars(userId)).map(toSelectedCalendarView);
  }

  @ApiOperation({ operationId: 'unselectCalendar' })
  @Delete('users/:userId/selected-calendars/:id')
  @HttpCode(204)
  async unselect(@Param('userId', IdParamPipe) userId: number, @Param('id', IdParamPipe) id: number) {
    await this.connections.removeSelectedCalendar(userId, id);
  }

  @ApiOperation({ operationId: 'setDestinationCalendar' })
  @ApiOkResponse({ type: DestinationCalendarResponse })
  @Put('users/:userId/destination-calendar')
  @HttpCode(200)
  async destination(@Param('userId', IdParamPipe) userId: number, @Body() body: CalendarRefDto) {
    return this.connections.setDestinationCalendar(userId, body.credentialId, body.externalId);
  }

  private knownProvider(provider: string): ProviderName {
    if (!isProviderName(provider)) {
      throw new BadRequestException(`provider must be one of: ${PROVIDER_NAMES.join(', ')}`);
    }
    return provider as ProviderName;
  }
}

export function toCredentialView(credential: CredentialEntity) {
  return {
    id: credential.id,
    userId: credential.userId,
    provider: credential.provider,
    status: credential.status,
    invalidReason: credential.invalidReason,
    createdAt: credential.createdAt,
  };
}

export function toSelectedCalendarView(calendar: SelectedCalendarEntity) {
  return {
    id: calendar.id,
    userId: calendar.userId,
    credentialId: calendar.credentialId,
    integration: calendar.integration,
    externalId: calendar.externalId,
    busySource: calendar.busySource,
    channelId: calendar.channelId,
    channelExpiration: calendar.channelExpiration,
    syncSubscribedAt: calendar.syncSubscribedAt,
    syncedAt: calendar.syncedAt,
    syncErrorAt: calendar.syncErrorAt,
    syncErrorCount: calendar.syncErrorCount,
    lastError: calendar.lastError,
  };
}
