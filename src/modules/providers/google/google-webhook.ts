import { SecretMatcher } from '../../../infrastructure/crypto/constant-time.js';
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
  private readonly token: SecretMatcher;

  constructor(token: string) {
    this.token = new SecretMatcher(token);
  }

  parse(request: IncomingWebhook): ParsedWebhook {
    if (request.route !== 'notifications') {
      return { type: 'malformed', message: 'Google Calendar sends no life-cycle notifications' };
    }
    const headers = request.headers;
    const state = single(headers['x-goog-resource-state']);
    const kind: WebhookItemKind = state === 'sync' ? 'hello' : 'changed';
    return {
      type: 'notifications',
      acceptedStatus: 200,
      items: [
        {
          channelId: single(headers['x-goog-channel-id']),
          resourceId: single(headers['x-goog-resource-id']),
          secretValid: this.token.matches(single(headers['x-goog-channel-token'])),
          kind,
        },
      ],
    };
  }
}
