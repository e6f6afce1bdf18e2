import { BadRequestException, Injectable, NotFoundException, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { CommandBus } from '@nestjs/cqrs';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ProviderName } from '../../config/app-config.js';
import { CalendarProviders } from '../providers/calendar-provider.port.js';
import type { IncomingWebhook } from '../providers/webhook.js';
import {
  type NotificationResult,
  RecordNotificationCommand,
} from './commands/record-notification/record-notification.command.js';

/** Where providers deliver: `POST …/:provider` (notifications) and `POST …/:provider/lifecycle` (Graph). */
const WEBHOOK_BASE_PATH = '/api/webhooks/calendar-subscription';

/** The answer for a single notification's result, serialized once: pushes arrive by the thousand. */
const SINGLE: Record<NotificationResult, string> = {
  accepted: JSON.stringify({ result: 'accepted' }),
  sync_state: JSON.stringify({ result: 'sync_state' }),
  lifecycle: JSON.stringify({ result: 'lifecycle' }),
  unknown_channel: JSON.stringify({ result: 'unknown_channel' }),
  superseded_channel: JSON.stringify({ result: 'superseded_channel' }),
};

type WebhookRequest = FastifyRequest<{ Params: { provider: string } }>;

/**
 * Provider webhooks: no API key; each provider's own proof is checked (the adapter parses the
 * request, the command checks every item's secret). Nothing here knows a provider's headers or
 * fields.
 *
 * The two routes are Fastify routes, registered when the module starts, instead of a Nest
 * `@Controller`: Nest's per-request pipeline (execution context, guard and interceptor consumers,
 * param pipes, response mapping, several awaits) measured at about a tenth of the intake's
 * throughput (`npm run bench -- webhook-intake`), for a route that uses none of it. Everything
 * else a request meets is the same as on every route: the global Fastify hooks (request id,
 * request time bound, HTTP metrics, the draining 503), the body parsers, and errors answered as
 * problem+json by the global exception filter (Nest sets it as Fastify's error handler). The
 * routes are not in the OpenAPI document, as before (providers call them, not host teams).
 */
@Injectable()
export class WebhooksController implements OnModuleInit {
  constructor(
    private readonly commands: CommandBus,
    private readonly providers: CalendarProviders,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  onModuleInit(): void {
    // A standalone application context (a CLI command) has no HTTP server.
    const fastify = this.adapterHost.httpAdapter?.getInstance<FastifyInstance>();
    if (!fastify) return;
    fastify.post(`${WEBHOOK_BASE_PATH}/:provider`, (request: WebhookRequest, reply) =>
      this.receive(request.params.provider, 'notifications', request, reply),
    );
    fastify.post(`${WEBHOOK_BASE_PATH}/:provider/lifecycle`, (request: WebhookRequest, reply) =>
      this.receive(request.params.provider, 'lifecycle', request, reply),
    );
  }

  private async receive(
    name: string,
    route: IncomingWebhook['route'],
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<FastifyReply> {
    if (!this.providers.has(name as ProviderName)) throw new NotFoundException(`No provider "${name}" in this deployment`);
    const provider = this.providers.get(name as ProviderName);
    const parsed = provider.parseWebhook({
      route,
      headers: request.headers,
      query: request.query as Record<string, unknown>,
      body: request.body,
    });
    if (parsed.type === 'handshake') {
      // The body echoes the caller's query: a browser must not sniff it as HTML.
      return reply.code(parsed.status).type(parsed.contentType).header('x-content-type-options', 'nosniff').send(parsed.body);
    }
    if (parsed.type === 'malformed') throw new BadRequestException(parsed.message);
    const results = await this.commands.execute(new RecordNotificationCommand(provider.name, parsed.items));
    const body = results.length === 1 ? SINGLE[results[0]] : JSON.stringify({ results });
    return reply.code(parsed.acceptedStatus).type('application/json; charset=utf-8').send(body);
  }
}
