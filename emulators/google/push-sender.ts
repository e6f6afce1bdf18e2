import http from 'node:http';
import https from 'node:https';
import type { FaultState } from './faults.js';
import type { ChannelSnapshot } from './snapshot.js';
import type { ChannelInfo, PushLogEntry, PushState } from './types.js';

/**
 * Watch channels and the web-hook pushes sent to them. Pushes go out asynchronously through the fault
 * pipeline (drop, duplicate, hold, delay, message-number gaps); failures end up in the push log, never as
 * exceptions, because a push is fire-and-forget for Google too.
 */

export interface Channel extends ChannelInfo {
  resourceUri: string;
}

interface Delivery {
  channel: Channel;
  state: PushState;
  messageNumber: number;
  headers: Record<string, string>;
  done: () => void;
}

const RETRY_STATUSES = new Set([500, 502, 503, 504]);
/** Short, so tests that exercise retries stay fast; Google's are longer but the shape is the same. */
const RETRY_DELAYS_MS = [50, 100, 200];
const PUSH_TIMEOUT_MS = 10_000;
const USER_AGENT = 'APIs-Google; (+https://developers.google.com/webmasters/APIs-Google.html)';

export class PushSender {
  readonly channels = new Map<string, Channel>();
  readonly log: PushLogEntry[] = [];
  private held: Delivery[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private httpAgent = new http.Agent({ keepAlive: true, maxSockets: 32 });
  // Loopback receivers in a sandbox use self-signed certificates; there is nothing to protect here.
  private httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 32, rejectUnauthorized: false });
  private stopped = false;

  constructor(private readonly faults: FaultState) {}

  isLive(ch: Channel, now = Date.now()): boolean {
    return !ch.stopped && ch.expiration > now;
  }

  liveChannels(calendarId?: string): Channel[] {
    const now = Date.now();
    const out: Channel[] = [];
    for (const ch of this.channels.values()) {
      if (this.isLive(ch, now) && (calendarId === undefined || ch.calendarId === calendarId)) out.push(ch);
    }
    return out;
  }

  /** "This calendar changed": one `exists` push per live channel on it. */
  notify(calendarId: string): void {
    if (this.channels.size === 0) return;
    for (const ch of this.liveChannels(calendarId)) void this.enqueue(ch, 'exists');
  }

  /**
   * Runs one push through the fault pipeline. Resolves once every copy was delivered (or failed), dropped,
   * or queued by holdPushes.
   */
  enqueue(ch: Channel, state: PushState): Promise<void> {
    const messageNumber = this.nextMessageNumber(ch, state, state === 'sync' ? 0 : this.faults.takeSkip());
    if (this.faults.takeDrop(ch.id)) {
      this.log.push({ at: Date.now(), channelId: ch.id, state, messageNumber, status: 'dropped' });
      return Promise.resolve();
    }
    const copies = this.faults.takeCopies();
    const headers = this.headersFor(ch, state, messageNumber);
    const pending: Array<Promise<void>> = [];
    for (let c = 0; c < copies; c++) {
      pending.push(
        new Promise<void>((done) => {
          const d: Delivery = { channel: ch, state, messageNumber, headers, done };
          if (this.faults.holding) {
            this.held.push(d);
            done();
          } else if (this.faults.pushDelayMs > 0) {
            this.later(this.faults.pushDelayMs, () => void this.deliver(d));
          } else {
            void this.deliver(d);
          }
        }),
      );
    }
    return Promise.all(pending).then(() => undefined);
  }

  /** Sends held pushes one after the other, so reversed order really arrives reversed. */
  async release(reverse: boolean): Promise<void> {
    const batch = this.held;
    this.held = [];
    if (reverse) batch.reverse();
    for (const d of batch) {
      await new Promise<void>((resolve) => {
        void this.deliver({ ...d, done: resolve });
      });
    }
  }

  /** One push right now, no faults, no retries: for tests that script the exact traffic. */
  async sendNow(
    ch: Channel,
    state: PushState,
    overrides: { token?: string; headers?: Record<string, string> } = {},
  ): Promise<number> {
    const messageNumber = this.nextMessageNumber(ch, state, 0);
    const headers = this.headersFor(ch, state, messageNumber, overrides.token);
    Object.assign(headers, overrides.headers ?? {});
    try {
      const status = await this.post(ch.address, headers);
      this.log.push({ at: Date.now(), channelId: ch.id, state, messageNumber, status });
      return status;
    } catch (err) {
      this.log.push({ at: Date.now(), channelId: ch.id, state, messageNumber, status: 'error' });
      throw err;
    }
  }

  /** Channels as snapshot.ts stores them, message counters included. */
  snapshotChannels(): ChannelSnapshot[] {
    return [...this.channels.values()].map((ch) => ({ ...ch }));
  }

  /** Replaces every channel (and forgets held pushes and the log); `rebase` maps a stored resourceUri to the current server. */
  restoreChannels(channels: ChannelSnapshot[], rebase: (resourceUri: string) => string): void {
    this.reset();
    for (const ch of channels) this.channels.set(ch.id, { ...ch, resourceUri: rebase(ch.resourceUri) });
  }

  reset(): void {
    this.channels.clear();
    this.log.length = 0;
    this.held = [];
    this.clearTimers();
  }

  stop(): void {
    this.stopped = true;
    this.held = [];
    this.clearTimers();
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  private clearTimers(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private nextMessageNumber(ch: Channel, state: PushState, skip: number): number {
    // The sync message is number 1 whatever came before; later ones increase, with gaps when asked.
    ch.messageNumber = state === 'sync' && ch.messageNumber === 0 ? 1 : ch.messageNumber + 1 + skip;
    return ch.messageNumber;
  }

  private headersFor(ch: Channel, state: PushState, messageNumber: number, tokenOverride?: string): Record<string, string> {
    const headers: Record<string, string> = {
      'X-Goog-Channel-ID': ch.id,
      'X-Goog-Channel-Expiration': new Date(ch.expiration).toUTCString(),
      'X-Goog-Resource-ID': ch.resourceId,
      'X-Goog-Resource-URI': ch.resourceUri,
      'X-Goog-Resource-State': state,
      'X-Goog-Message-Number': String(messageNumber),
      'User-Agent': USER_AGENT,
    };
    const token = tokenOverride ?? ch.token;
    if (token !== undefined) headers['X-Goog-Channel-Token'] = token;
    return headers;
  }

  private async deliver(d: Delivery): Promise<void> {
    let status: PushLogEntry['status'] = 'error';
    for (let attempt = 0; ; attempt++) {
      if (this.stopped) break;
      try {
        status = await this.post(d.channel.address, d.headers);
        if (!RETRY_STATUSES.has(status)) break;
      } catch {
        status = 'error';
      }
      if (attempt >= RETRY_DELAYS_MS.length || this.stopped) break;
      await new Promise<void>((resolve) => this.later(RETRY_DELAYS_MS[attempt], resolve));
    }
    if (!this.stopped) {
      this.log.push({ at: Date.now(), channelId: d.channel.id, state: d.state, messageNumber: d.messageNumber, status });
    }
    d.done();
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  private post(address: string, headers: Record<string, string>): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      const url = new URL(address);
      const secure = url.protocol === 'https:';
      const req = (secure ? https : http).request(
        url,
        {
          method: 'POST',
          headers: { ...headers, 'Content-Length': '0' },
          agent: secure ? this.httpsAgent : this.httpAgent,
          timeout: PUSH_TIMEOUT_MS,
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('timeout', () => req.destroy(new Error('push timed out')));
      req.on('error', reject);
      req.end();
    });
  }
}
