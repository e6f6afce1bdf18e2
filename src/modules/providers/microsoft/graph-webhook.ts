import type { WebhookSecrets } from '../webhook-secrets.js';
import type { IncomingWebhook, ParsedWebhook, WebhookItem, WebhookItemKind } from '../webhook.js';

const HANDSHAKE_CONTENT_TYPE = 'text/plain; charset=utf-8';
const ACCEPTED = 202;

/** Graph's `lifecycleEvent` values and what each asks of us. */
const LIFECYCLE_KINDS: ReadonlyMap<string, WebhookItemKind> = new Map<string, WebhookItemKind>([
  ['reauthorizationRequired', 'reauthorize'],
  ['subscriptionRemoved', 'removed'],
  ['missed', 'missed'],
]);

/**
 * Graph change and life-cycle notifications.
 * - Validation: creating or renewing a subscription makes Graph POST `?validationToken=…` to each
 *   URL; the answer is the token itself, 200 `text/plain`, within 10 s. The query arrives decoded
 *   by the HTTP layer, so the value is echoed as is (decoding again would corrupt a token holding `%`).
 * - Notifications: a JSON body `{value: [...]}`, one item per change, possibly for several
 *   subscriptions, each echoing our `clientState` (during a rotation, the current or the previous
 *   one), which is compared in constant time.
 * The intake's hot path: one pass over the items, no copies of the body, no I/O.
 */
export class GraphWebhookParser {
  /** `clientStates`: the client state new subscriptions carry and, during a rotation, the previous one. */
  constructor(private readonly clientStates: WebhookSecrets) {}

  parse(request: IncomingWebhook): ParsedWebhook {
    const token = request.query.validationToken;
    if (typeof token === 'string') {
      return { type: 'handshake', status: 200, contentType: HANDSHAKE_CONTENT_TYPE, body: token };
    }
    const body = request.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      return { type: 'malformed', message: 'Expected a JSON object body with a "value" array of Graph notifications' };
    }
    const value = (body as { value?: unknown }).value;
    if (!Array.isArray(value)) {
      return { type: 'malformed', message: 'The body has no "value" array of Graph notifications' };
    }
    const lifecycleRoute = request.route === 'lifecycle';
    const items: WebhookItem[] = new Array<WebhookItem>(value.length);
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (typeof item !== 'object' || item === null || Array.isArray(item)) {
        return { type: 'malformed', message: `Notification ${i} is not an object` };
      }
      const { subscriptionId, clientState, lifecycleEvent } = item as {
        subscriptionId?: unknown;
        clientState?: unknown;
        lifecycleEvent?: unknown;
      };
      let kind: WebhookItemKind = 'changed';
      if (lifecycleRoute || typeof lifecycleEvent === 'string') {
        // Graph sends life-cycle events to the notification URL too when a subscription has no
        // life-cycle URL. An event this code does not know asks for nothing worse than a resync.
        kind = (typeof lifecycleEvent === 'string' ? LIFECYCLE_KINDS.get(lifecycleEvent) : undefined) ?? 'missed';
      }
      items[i] = {
        channelId: typeof subscriptionId === 'string' && subscriptionId !== '' ? subscriptionId : null,
        resourceId: null,
        secretValid: this.clientStates.matches(typeof clientState === 'string' ? clientState : null),
        kind,
      };
    }
    return { type: 'notifications', items, acceptedStatus: ACCEPTED };
  }
}
