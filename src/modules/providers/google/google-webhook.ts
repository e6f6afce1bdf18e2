import type { WebhookSecrets } from '../webhook-secrets.js';
import type { IncomingWebhook, ParsedWebhook, WebhookItemKind } from '../webhook.js';

/** A header sent once; a repeated one is not a value Google sends. */
const single = (value: string | string[] | undefined): string | null => (typeof value === 'string' ? value : null);

/**
 * Google pushes carry everything in headers and have an empty body: `X-Goog-Channel-ID`,
 * `X-Goog-Channel-Token` (our token), `X-Goog-Resource-ID` (the watched collection) and
 * `X-Goog-Resource-State` (`sync` when the channel starts, `exists`/`not_exists` on changes).
 * Google has no life-cycle route and no handshake.
 */
export class GoogleWebhookParser {
  /** `tokens`: the channel token new channels carry and, during a rotation, the previous one. */
  constructor(private readonly tokens: WebhookSecrets) {}

  parse(request: IncomingWebhook): ParsedWebhook {
    if (request.route !== 'notifications') {
      return { type: 'malformed', message: 'Google Calendar sends no life-cycle notifications' };
    }
    const headers = request.headers;
    const state = single(headers['x-goog-resource-state']);
    const kind: WebhookItemKind = state === 'sync' ? 'hello' : 'changed';
    const secretValid = this.tokens.matches(single(headers['x-goog-channel-token']));
    const resourceId = single(headers['x-goog-resource-id']);
    // Google sends the resource id on every push, the channel's sync message included. Without it
    // the push cannot be matched to the watched resource: refused, nothing processed. A push with
    // a wrong token stays a 403 whatever else it lacks (the secret check comes first).
    if (secretValid && !resourceId) {
      return { type: 'malformed', message: 'X-Goog-Resource-ID header is required on a Google Calendar push' };
    }
    return {
      type: 'notifications',
      acceptedStatus: 200,
      items: [{ channelId: single(headers['x-goog-channel-id']), resourceId, secretValid, kind }],
    };
  }
}
