/**
 * The host-events module's public surface: what changed, told to the host product (outgoing
 * webhooks, the change feed) and to extension modules. Besides this file, others may import
 * `host-events.module.ts`, the port in `ports/` (`HostEventRecorder`, which the modules that change
 * things call in their transaction) and `host-events.jobs.ts`. Tables: "HostEvent",
 * "WebhookEndpoint", "WebhookDelivery", "HostEventConsumer".
 */
export {
  type HostEventConsumer,
  type HostEventEnvelope,
  type HostEventHandler,
  HostEventSubscriptions,
} from './host-event-consumers.registry.js';
export {
  InvalidWebhookUrlError,
  WebhookDeliveryNotFoundError,
  WebhookEndpointDisabledError,
  WebhookEndpointNotFoundError,
} from './host-events.errors.js';
export { HostEventsModule } from './host-events.module.js';
export { WebhookSecretSealing } from './webhook-secret-sealing.js';
export { HOST_EVENT_TYPES, HostEventRecorder, type HostEventType, type NewHostEvent } from './ports/host-event-recorder.port.js';
