import {
  BadRequestException,
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Inject,
  Param,
  Post,
  Put,
  Query,
  Res,
} from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { APP_CONFIG, type AppConfig, type ProviderName } from '../../config/app-config.js';
import { ApiKeyProtected, PublicRoute } from '../../common/auth/api-auth.decorator.js';
import { IdParamPipe } from '../../common/validation/id-param.pipe.js';
import { CalendarProviders } from '../providers/calendar-provider.port.js';
import { ConnectionsService } from './connections.service.js';
import { CalendarRefDto } from './dto/calendar-ref.dto.js';
import { PROVIDER_NAMES, isProviderName } from '../providers/provider-names.js';
import { CreateCredentialDto } from './dto/create-credential.dto.js';
import { CredentialEntity } from './entities/credential.entity.js';
import { SelectedCalendarEntity } from './entities/selected-calendar.entity.js';
import { OAuthState } from './oauth-state.js';

interface RedirectReply {
  status(code: number): RedirectReply;
  redirect(url: string, code?: number): RedirectReply;
}

@ApiTags('connections')
@ApiKeyProtected()
@Controller('api/v1')
export class ConnectionsController {
  private readonly state: OAuthState;

  constructor(
    private readonly connections: ConnectionsService,
    private readonly providers: CalendarProviders,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.state = new OAuthState(config.encryptionKey);
  }

  @Post('users/:userId/credentials')
  async createCredential(@Param('userId', IdParamPipe) userId: number, @Body() body: CreateCredentialDto) {
    const credential = await this.connections.createCredential(userId, body.provider, {
      accessToken: body.accessToken,
      refreshToken: body.refreshToken,
      expiresAt: Date.parse(body.expiresAt),
    });
    return toCredentialView(credential);
  }

  @Get('users/:userId/credentials')
  async listCredentials(@Param('userId', IdParamPipe) userId: number) {
    return (await this.connections.listCredentials(userId)).map(toCredentialView);
  }

  @Delete('users/:userId/credentials/:credentialId')
  @HttpCode(204)
  async deleteCredential(@Param('userId', IdParamPipe) userId: number, @Param('credentialId', IdParamPipe) credentialId: number) {
    await this.connections.deleteCredential(userId, credentialId);
  }

  @Get('integrations/:provider/oauth/authorize')
  async authorize(
    @Param('provider') provider: string,
    @Query('userId') userIdRaw: string | undefined,
    @Query('loginHint') loginHint: string | undefined,
    @Res() reply: RedirectReply,
  ) {
    const name = this.knownProvider(provider);
    const userId = new IdParamPipe().transform(userIdRaw ?? '');
    await this.connections.listCredentials(userId); // 404 for an unknown user before leaving for the provider
    const url = this.providers.get(name).authorizeUrl(this.callbackUrl(name), this.state.sign(userId, name), loginHint);
    reply.redirect(url, 302);
  }

  /** The provider redirects the user's browser here: no API key, the signed `state` is the proof. */
  @PublicRoute()
  @Get('integrations/:provider/oauth/callback')
  async callback(
    @Param('provider') provider: string,
    @Query('code') code: string | undefined,
    @Query('state') state: string | undefined,
    @Query('error') error: string | undefined,
  ) {
    const name = this.knownProvider(provider);
    if (error) throw new BadRequestException(`The provider refused access: ${error}`);
    if (!code || !state) throw new BadRequestException('code and state are required');
    const verified = this.state.verify(state, name);
    if (!verified) throw new BadRequestException('state is invalid or expired; start the connection again');
    const tokens = await this.providers.get(name).exchangeCode(code, this.callbackUrl(name));
    return toCredentialView(await this.connections.createCredential(verified.userId, name, tokens));
  }

  @Get('users/:userId/credentials/:credentialId/calendars')
  async calendars(@Param('userId', IdParamPipe) userId: number, @Param('credentialId', IdParamPipe) credentialId: number) {
    return this.connections.listProviderCalendars(userId, credentialId);
  }

  @Post('users/:userId/selected-calendars')
  async select(@Param('userId', IdParamPipe) userId: number, @Body() body: CalendarRefDto) {
    return toSelectedCalendarView(await this.connections.addSelectedCalendar(userId, body.credentialId, body.externalId));
  }

  @Get('users/:userId/selected-calendars')
  async selected(@Param('userId', IdParamPipe) userId: number) {
    return (await this.connections.listSelectedCalendars(userId)).map(toSelectedCalendarView);
  }

  @Delete('users/:userId/selected-calendars/:id')
  @HttpCode(204)
  async unselect(@Param('userId', IdParamPipe) userId: number, @Param('id', IdParamPipe) id: number) {
    await this.connections.removeSelectedCalendar(userId, id);
  }

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

  private callbackUrl(provider: ProviderName): string {
    return `${this.config.appUrl}/api/v1/integrations/${provider}/oauth/callback`;
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
