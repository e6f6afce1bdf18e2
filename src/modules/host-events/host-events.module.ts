import { Global, Module, type OnModuleInit } from '@nestjs/common';
import { MetricsService } from '../../infrastructure/metrics/metrics.service.js';
import { ChangesController } from './changes.controller.js';
import { HostEventSubscriptions } from './host-event-consumers.registry.js';
import { HostEventConsumersJob } from './host-event-consumers.job.js';
import { HostEventStore } from './host-event.store.js';
import { HostEventRecorder } from './ports/host-event-recorder.port.js';
import { WebhookDeliveryJob } from './webhook-delivery.job.js';
import { WebhookEndpointsController } from './webhook-endpoints.controller.js';
import { WebhookEndpointsService } from './webhook-endpoints.service.js';
import { WebhookSecretSealing } from './webhook-secret-sealing.js';
import { WebhookSender } from './webhook-sender.js';

/**
 * Tells the host product what changed: the outbox of host events (recorded by other modules through
 * the `HostEventRecorder` port, in the transaction of their change), signed outgoing webhooks
 * (Standard Webhooks), the change feed and the extension point (`HostEventSubscriptions`). Global,
 * so the modules that record events and the extension modules that subscribe need not import it.
 * Tables: "HostEvent", "WebhookEndpoint", "WebhookDelivery", "HostEventConsumer".
 */
@Global()
@Module({
  controllers: [WebhookEndpointsController, ChangesController],
  providers: [
    HostEventStore,
    { provide: HostEventRecorder, useExisting: HostEventStore },
    HostEventSubscriptions,
    WebhookEndpointsService,
    WebhookSender,
    WebhookSecretSealing,
    WebhookDeliveryJob,
    HostEventConsumersJob,
  ],
  exports: [HostEventRecorder, HostEventSubscriptions, WebhookSecretSealing],
})
export class HostEventsModule implements OnModuleInit {
  constructor(
    private readonly metrics: MetricsService,
    private readonly endpoints: WebhookEndpointsService,
  ) {}

  onModuleInit(): void {
    this.metrics.webhookBacklogSource = () => this.endpoints.backlog();
  }
}
