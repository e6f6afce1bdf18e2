import { Controller, Headers, HttpCode, Post } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiExcludeEndpoint, ApiTags } from '@nestjs/swagger';
import { PublicRoute } from '../../common/auth/api-auth.decorator.js';
import { RecordGoogleNotificationCommand } from './commands/record-google-notification.command.js';

/** Provider pushes: no API key; each provider's own proof is checked by the command handler. */
@ApiTags('webhooks')
@PublicRoute()
@Controller('api/webhooks/calendar-subscription')
export class WebhooksController {
  constructor(private readonly commands: CommandBus) {}

  @Post('google_calendar')
  @HttpCode(200)
  @ApiExcludeEndpoint()
  async google(@Headers() headers: Record<string, string | undefined>): Promise<{ result: string }> {
    const result = await this.commands.execute(
      new RecordGoogleNotificationCommand(
        headers['x-goog-channel-id'],
        headers['x-goog-channel-token'],
        headers['x-goog-resource-id'],
        headers['x-goog-resource-state'],
        headers['x-goog-message-number'],
      ),
    );
    return { result };
  }
}
