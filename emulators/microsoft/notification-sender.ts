import type { FaultState } from './faults.js';
import { isLive, type Subscription } from './subscriptions.js';
import type { ChangeType, LifecycleEvent, NotificationLogEntry } from './types.js';
import { type WebhookClient, WebhookTimeout } from './webhook-client.js';

/**
 * Change notifications and lifecycle events. Items due within one batching window for the same URL travel in
 * one POST (as Graph batches several subscriptions' items); items pass the fault pipeline first (drop,
 * duplicate, delay, hold). Delivery is retried on 5xx, 429 and timeouts; every POST's outcome lands in the
 * log, never as an exception, because a notification is fire-and-forget for Graph too.
 */

export interface NotificationItem {
  url: string;
  subscriptionId: string;
  changeType: ChangeType;
  eventId: string;
  /** The JSON object that goes into `value`. */
  payload: Record<string, unknown>;
}

interface Batch {
  items: NotificationItem[];
  timer: NodeJS.Timeout;
}

const BATCH_WINDOW_MS = 5;
/** The echo Graph sends after the first notification of an edit comes a little later, in its own POST. */
const ECHO_DELAY_MS = 20;
/** Short, so tests that exercise retries stay fast; Graph's are longer but the shape is the same. */
const RETRY_DELAYS_MS = [50, 100, 200];
/** Graph wants an answer within 3 s. */
const DELIVERY_TIMEOUT_MS = 3000;

export interface ChangeSpec {
  changeType: ChangeType;
  eventId: string;
  etag: string;
  userId: string;
}

export class NotificationSender {
  readonly log: NotificationLogEntry[] = [];
  private readonly batches = new Map<string, Batch>();
  private held: NotificationItem[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Wakes deliveries sleeping between retries when the emulator resets or stops. */
  private readonly wakers = new Set<() => void>();
  /** Bumped by reset: deliveries of an earlier life stop retrying and stay out of the log. */
  private life = 0;
  private stopped = false;

  constructor(
    private readonly faults: FaultState,
    private readonly client: WebhookClient,
    private readonly tenantId: () => string,
    private readonly echo: () => boolean,
  ) {}

  /** One change, to every live subscription that watches it and wants its changeType (echoes included). */
  notify(subscriptions: Subscription[], change: ChangeSpec): void {
    const now = Date.now();
    const targets = subscriptions.filter((s) => isLive(s, now));
    if (targets.length === 0) return;
    for (const sub of targets) this.enqueue(sub, change.changeType, change);
    if (!this.echo() || change.changeType === 'deleted') return;
    // Created and updated events are followed by a second "updated", as Outlook does in practice.
    this.later(ECHO_DELAY_MS, () => {
      for (const sub of targets) if (isLive(sub)) this.enqueue(sub, 'updated', change);
    });
  }

  /** Sends a lifecycle event now, bypassing the fault pipeline; resolves with the receiver's final status. */
  async sendLifecycle(sub: Subscription, event: LifecycleEvent): Promise<number> {
    const url = sub.lifecycleNotificationUrl as string;
    const payload: Record<string, unknown> = {
      subscriptionId: sub.id,
      subscriptionExpirationDateTime: graphOffsetTime(sub.expirationMs),
      tenantId: this.tenantId(),
      clientState: sub.clientState ?? null,
      lifecycleEvent: event,
    };
    const entry = await this.deliver(url, [payload], {
      kind: 'lifecycle',
      subscriptionIds: [sub.id],
      events: [event],
      eventIds: [],
    });
    if (typeof entry.status === 'number') return entry.status;
    throw new Error(`lifecycle ${event} to ${url}: ${entry.status}`);
  }

  /** Sends held items one POST each, one after the other, so reversed order really arrives reversed. */
  async release(reverse: boolean): Promise<void> {
    const items = this.held;
    this.held = [];
    if (reverse) items.reverse();
    for (const item of items) await this.post(item.url, [item]);
  }

  reset(): void {
    this.life++;
    this.log.length = 0;
    this.held = [];
    for (const b of this.batches.values()) clearTimeout(b.timer);
    this.batches.clear();
    this.clearTimers();
    for (const wake of this.wakers) wake();
    this.wakers.clear();
  }

  stop(): void {
    this.stopped = true;
    this.reset();
  }

  // ---- internals -----------------------------------------------------------------------------------

  private enqueue(sub: Subscription, changeType: ChangeType, change: ChangeSpec): void {
    if (!sub.changeTypes.includes(changeType)) return;
    const resource = `Users/${change.userId}/Events/${change.eventId}`;
    const item: NotificationItem = {
      url: sub.notificationUrl,
      subscriptionId: sub.id,
      changeType,
      eventId: change.eventId,
      payload: {
        subscriptionId: sub.id,
        subscriptionExpirationDateTime: graphOffsetTime(sub.expirationMs),
        changeType,
        resource,
        resourceData: {
          '@odata.type': '#Microsoft.Graph.Event',
          '@odata.id': resource,
          '@odata.etag': change.etag,
          id: change.eventId,
        },
        clientState: sub.clientState ?? null,
        tenantId: this.tenantId(),
      },
    };
    if (this.faults.takeDrop(sub.id)) {
      this.log.push({
        at: Date.now(),
        kind: 'notification',
        url: sub.notificationUrl,
        subscriptionIds: [sub.id],
        events: [changeType],
        eventIds: [change.eventId],
        status: 'dropped',
        attempts: 0,
      });
      return;
    }
    const copies = this.faults.takeCopies();
    for (let c = 0; c < copies; c++) {
      if (this.faults.holding) this.held.push(item);
      else if (this.faults.notificationDelayMs > 0) this.later(this.faults.notificationDelayMs, () => this.batch(item));
      else this.batch(item);
    }
  }

  private batch(item: NotificationItem): void {
    if (this.stopped) return;
    const url = item.url;
    const open = this.batches.get(url);
    if (open) {
      open.items.push(item);
      return;
    }
    const timer = setTimeout(() => {
      this.batches.delete(url);
      void this.post(url, batch.items);
    }, BATCH_WINDOW_MS);
    const batch: Batch = { items: [item], timer };
    this.batches.set(url, batch);
  }

  private post(url: string, items: NotificationItem[]): Promise<NotificationLogEntry> {
    return this.deliver(
      url,
      items.map((i) => i.payload),
      {
        kind: 'notification',
        subscriptionIds: items.map((i) => i.subscriptionId),
        events: items.map((i) => i.changeType),
        eventIds: items.map((i) => i.eventId),
      },
    );
  }

  private async deliver(
    url: string,
    value: Array<Record<string, unknown>>,
    what: Pick<NotificationLogEntry, 'kind' | 'subscriptionIds' | 'events' | 'eventIds'>,
  ): Promise<NotificationLogEntry> {
    const body = JSON.stringify({ value });
    const entry: NotificationLogEntry = { at: Date.now(), url, ...what, status: 'error', attempts: 0 };
    const life = this.life;
    const current = (): boolean => !this.stopped && life === this.life;
    for (let attempt = 0; current(); attempt++) {
      entry.attempts = attempt + 1;
      let retry: boolean;
      try {
        const answer = await this.client.post(url, body, 'application/json; charset=utf-8', DELIVERY_TIMEOUT_MS);
        entry.status = answer.status;
        retry = answer.status >= 500 || answer.status === 429;
      } catch (err) {
        entry.status = err instanceof WebhookTimeout ? 'timeout' : 'error';
        retry = true;
      }
      if (!retry || attempt >= RETRY_DELAYS_MS.length || !current()) break;
      await this.sleep(RETRY_DELAYS_MS[attempt]);
    }
    entry.at = Date.now();
    if (current()) this.log.push(entry);
    return entry;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const wake = (): void => {
        this.wakers.delete(wake);
        resolve();
      };
      this.wakers.add(wake);
      this.later(ms, wake);
    });
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  private clearTimers(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}

/** Graph writes subscriptionExpirationDateTime with seven fractional digits and an explicit offset. */
function graphOffsetTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 23)}0000+00:00`;
}
