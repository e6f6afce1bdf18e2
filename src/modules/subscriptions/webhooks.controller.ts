import { Controller, Post, Req, Res } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiExcludeEndpoint, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { PublicRoute } from '../../common/auth/api-auth.decorator.js';
import { type NotificationResult, RecordGoogleNotificationCommand } from './commands/record-google-notification.command.js';

/** The answer for each result, serialized once: pushes arrive by the thousand. */
const BODIES: Record<NotificationResult, string> = {
  accepted: JSON.stringify({ result: 'accepted' }),
  sync_state: JSON.stringify({ result: 'sync_state' }),
  unknown_channel: JSON.stringify({ result: 'unknown_channel' }),
  superseded_channel: JSON.stringify({ result: 'superseded_channel' }),
};

/** A header sent once; a repeated one is not a value Google sends. */
const single = (value: string | string[] | undefined): string | undefined => (typeof value === 'string' ? value : undefined);

/**
 * Provider pushes: no API key; each provider's own proof is checked by the command handler.
 * The reply is written directly (`@Res`), which spares the hot path Nest's response mapping;
 * errors still go through the exception filter.
 */
@ApiTags('webhooks')
@PublicRoute()
@Controller('api/webhooks/calendar-subscription')
export class WebhooksController {
  constructor(private readonly commands: CommandBus) {}

  @Post('google_calendar')
  @ApiExcludeEndpoint()
  async google(@Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const headers = request.headers;
    const result = await this.commands.execute(
      new RecordGoogleNotificationCommand(
        single(headers['x-goog-channel-id']),
        single(headers['x-goog-channel-token']),
        single(headers['x-goog-resource-id']),
        single(headers['x-goog-resource-state']),
        single(headers['x-goog-message-number']),
      ),
    );
    await reply.code(200).type('application/json; charset=utf-8').send(BODIES[result]);
  }
}
