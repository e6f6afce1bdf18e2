import { ConflictError, InvalidRequestError, NotFoundError } from '../../common/errors/domain-error.js';

export class WebhookEndpointNotFoundError extends NotFoundError {
  constructor(readonly endpointId: number) {
    super(`Webhook endpoint ${endpointId} not found`);
  }
}

export class WebhookDeliveryNotFoundError extends NotFoundError {
  constructor(
    readonly endpointId: number,
    readonly deliveryId: number,
  ) {
    super(`Delivery ${deliveryId} of webhook endpoint ${endpointId} not found`);
  }
}

/** Not an http(s) URL, or (with `WEBHOOK_ALLOW_PRIVATE_URLS` off) one that resolves to a non-public address. */
export class InvalidWebhookUrlError extends InvalidRequestError {
  constructor(message: string) {
    super(message);
  }
}

/** A redelivery asked of a disabled endpoint: enable it first (PATCH `{enabled: true}`). */
export class WebhookEndpointDisabledError extends ConflictError {
  constructor(readonly endpointId: number) {
    super(`Webhook endpoint ${endpointId} is disabled; enable it with PATCH {"enabled": true} first`);
  }
}
