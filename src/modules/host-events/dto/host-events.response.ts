import { ApiProperty, ApiSchema } from '@nestjs/swagger';
import { DATE_TIME, NULLABLE_DATE_TIME } from '../../../common/openapi/responses.js';
import type { HostEventEnvelope } from '../host-event-consumers.registry.js';
import { HOST_EVENT_TYPES, type HostEventType } from '../ports/host-event-recorder.port.js';
import type { DeliveryView, WebhookEndpointView } from '../webhook-endpoints.service.js';

/** OpenAPI schemas of what the webhook endpoint and change feed routes answer (`implements` keeps them in step). */

@ApiSchema({ name: 'WebhookEndpoint' })
export class WebhookEndpointResponse implements WebhookEndpointView {
  @ApiProperty()
  id!: number;

  @ApiProperty({ format: 'uri' })
  url!: string;

  @ApiProperty({ enum: HOST_EVENT_TYPES, isArray: true, nullable: true, description: 'null: every event type' })
  events!: HostEventType[] | null;

  @ApiProperty({ type: String, nullable: true })
  description!: string | null;

  @ApiProperty()
  enabled!: boolean;

  @ApiProperty({ type: String, nullable: true, description: 'why calsync disabled it (e.g. it answered 410)' })
  disabledReason!: string | null;

  @ApiProperty(DATE_TIME)
  createdAt!: string;

  @ApiProperty(DATE_TIME)
  updatedAt!: string;
}

@ApiSchema({ name: 'WebhookEndpointWithSecret', description: 'Shown once: keep the secret to verify signatures' })
export class WebhookEndpointWithSecretResponse extends WebhookEndpointResponse {
  @ApiProperty({ example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' })
  secret!: string;
}

@ApiSchema({ name: 'WebhookSecret' })
export class WebhookSecretResponse {
  @ApiProperty({ description: 'the new signing secret, shown once', example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' })
  secret!: string;
}

@ApiSchema({ name: 'WebhookDelivery' })
export class WebhookDeliveryResponse implements DeliveryView {
  @ApiProperty()
  id!: number;

  @ApiProperty({ description: 'the webhook-id header: the event id' })
  eventId!: string;

  @ApiProperty({ enum: HOST_EVENT_TYPES })
  type!: HostEventType;

  @ApiProperty({ enum: ['pending', 'delivered', 'failed'] })
  status!: 'pending' | 'delivered' | 'failed';

  @ApiProperty()
  attempts!: number;

  @ApiProperty({ type: Number, nullable: true })
  lastStatusCode!: number | null;

  @ApiProperty({ type: String, nullable: true })
  lastError!: string | null;

  @ApiProperty(NULLABLE_DATE_TIME)
  nextAttemptAt!: string | null;

  @ApiProperty(NULLABLE_DATE_TIME)
  deliveredAt!: string | null;

  @ApiProperty(DATE_TIME)
  createdAt!: string;
}

@ApiSchema({ name: 'RedeliveryQueued' })
export class RedeliveryResponse {
  @ApiProperty()
  id!: number;

  @ApiProperty({ enum: ['pending'] })
  status!: 'pending';
}

@ApiSchema({ name: 'HostEvent', description: 'One event, as webhooks deliver it and the change feed lists it' })
export class HostEventResponse implements HostEventEnvelope {
  @ApiProperty({ description: 'stable across retries and redeliveries: deduplicate on it' })
  id!: string;

  @ApiProperty({ enum: HOST_EVENT_TYPES })
  type!: HostEventType;

  @ApiProperty(DATE_TIME)
  timestamp!: string;

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description: 'for booking events {booking, source, changes: {<field>: {from, to}}}',
  })
  data!: Record<string, unknown>;
}

@ApiSchema({ name: 'ChangesPage', description: 'A page of the change feed; empty items means caught up' })
export class ChangesPageResponse {
  @ApiProperty({ type: [HostEventResponse] })
  items!: HostEventResponse[];

  @ApiProperty({ description: 'where to continue (never null: the feed never ends)' })
  nextCursor!: string;
}
