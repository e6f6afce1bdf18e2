import { BadRequestException, Controller, NotFoundException, Param, Post, Req, Res } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiExcludeEndpoint, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { PublicRoute } from '../../common/auth/api-auth.decorator.js';
import type { ProviderName } from '../../config/app-config.js';
import { CalendarProviders } from '../providers/calendar-provider.port.js';
import type { IncomingWebhook } from '../providers/webhook.js';
import {
  type NotificationResult,
  RecordNotificationCommand,
} from './commands/record-notification/record-notification.command.js';

/** The answer for a single notification's result, serialized once: pushes arrive by the thousand. */
const SINGLE: Record<NotificationResult, string> = {
  accepted: JSON.stringify({ result: 'accepted' }),
  sync_state: JSON.stringify({ result: 'sync_state' }),
  lifecycle: JSON.stringify({ result: 'lifecycle' }),
  unknown_channel: JSON.stringify({ result: 'unknown_channel' }),
  superseded_channel: JSON.stringify({ result: 'superseded_channel' }),
};

/**
 * Provider webhooks: no API key; each provider's own proof is checked (the adapter parses the
 * request, the command checks every item's secret). The reply is written directly (`@Res`), which
 * spares the hot path Nest's response mapping; errors still go through the exception filter.
 * Nothing here knows a provider's headers or fields.
 */
@ApiTags('webhooks')
@PublicRoute()
@Controller('api/webhooks/calendar-subscription')
export class WebhooksController {
  constructor(
    private readonly commands: CommandBus,
    private readonly providers: CalendarProviders,
  ) {}

  @Post(':provider')
  @ApiExcludeEndpoint()
  notifications(@Param('provider') provider: string, @Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    return this.receive(provider, 'notifications', request, reply);
  }

  @Post(':provider/lifecycle')
  @ApiExcludeEndpoint()
  lifecycle(@Param('provider') provider: string, @Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    return this.receive(provider, 'lifecycle', request, reply);
  }

  private async receive(
    name: string,
    route: IncomingWebhook['route'],
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<void> {
    if (!this.providers.has(name as ProviderName)) throw new NotFoundException(`No provider "${name}" in this deployment`);
    const provider = this.providers.get(name as ProviderName);
    const parsed = provider.parseWebhook({
      route,
      headers: request.headers,
      query: request.query as Record<string, unknown>,
      body: request.body,
    });
    if (parsed.type === 'handshake') {
      await reply.code(parsed.status).type(parsed.contentType).send(parsed.body);
      return;
    }
    if (parsed.type === 'malformed') throw new BadRequestException(parsed.message);
    const results = await this.commands.execute(new RecordNotificationCommand(provider.name, parsed.items));
    const body = results.length === 1 ? SINGLE[results[0]] : JSON.stringify({ results });
    await reply.code(parsed.acceptedStatus).type('application/json; charset=utf-8').send(body);
  }
}
