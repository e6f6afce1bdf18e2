/** An incoming provider webhook request, as the HTTP layer received it. */
export interface IncomingWebhook {
  /** `notifications`: change notifications. `lifecycle`: channel life-cycle events (Graph). */
  route: 'notifications' | 'lifecycle';
  /** Lower-case names, as Node gives them. */
  headers: Record<string, string | string[] | undefined>;
  query: Record<string, unknown>;
  /** Parsed JSON body, or undefined when there was none (Google sends none). */
  body: unknown;
}

/**
 * What a notification asks for.
 * - `changed`: something in the watched calendar changed; pull the changes.
 * - `hello`: the channel just started (Google `sync`); a catch-up sync is harmless and cheap.
 * - `missed`: the provider says notifications were lost; resync.
 * - `reauthorize`: the channel needs reauthorization or renewal soon.
 * - `removed`: the provider removed the channel; open a new one.
 */
export type WebhookItemKind = 'changed' | 'hello' | 'missed' | 'reauthorize' | 'removed';

export interface WebhookItem {
  /** The channel (subscription) the notification is for; null when the request carried none. */
  channelId: string | null;
  /** When the provider names the watched resource too: it must match the stored channel's. */
  resourceId: string | null;
  /** Whether the item carried our secret (token / clientState), compared in constant time. */
  secretValid: boolean;
  kind: WebhookItemKind;
}

export type ParsedWebhook =
  /** Answer exactly this, do nothing else (Graph's `validationToken` echo). */
  | { type: 'handshake'; status: number; contentType: string; body: string }
  /** Record these; answer `acceptedStatus` once they are durably queued. */
  | { type: 'notifications'; items: WebhookItem[]; acceptedStatus: number }
  /** The request is not a webhook this provider sends: 400 with this message. */
  | { type: 'malformed'; message: string };
