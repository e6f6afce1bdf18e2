import { type IncomingHttpHeaders, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A booking event's data (other types carry other fields). */
export interface HookData {
  booking: { id: number; references: unknown[]; [field: string]: unknown };
  source: string;
  changes: Record<string, unknown>;
  [field: string]: unknown;
}

export interface ReceivedWebhook {
  headers: IncomingHttpHeaders;
  body: string;
  json: { id: string; type: string; timestamp: string; data: HookData };
  receivedAt: number;
}

/**
 * A real HTTP receiver on 127.0.0.1 for outgoing webhooks. `respond` decides each answer (default
 * 204); returning `'hang'` never answers (the request is held until the receiver stops).
 */
export class WebhookReceiver {
  readonly received: ReceivedWebhook[] = [];
  respond: (hook: ReceivedWebhook, index: number) => number | 'hang' = () => 204;
  /** Requests in progress (not yet answered, or given up by the sender), and the most there were at once. */
  open = 0;
  peakOpen = 0;
  private readonly held: ServerResponse[] = [];

  private server!: Server;

  static async start(): Promise<WebhookReceiver> {
    const receiver = new WebhookReceiver();
    const server = createServer((req, res) => {
      receiver.open += 1;
      receiver.peakOpen = Math.max(receiver.peakOpen, receiver.open);
      res.on('close', () => (receiver.open -= 1));
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const hook: ReceivedWebhook = { headers: req.headers, body, json: JSON.parse(body), receivedAt: Date.now() };
        const index = receiver.received.push(hook) - 1;
        const answer = receiver.respond(hook, index);
        if (answer === 'hang') {
          receiver.held.push(res);
          return;
        }
        res.statusCode = answer;
        res.end();
      });
    });
    receiver.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks`;
  }

  ofType(type: string): ReceivedWebhook[] {
    return this.received.filter((h) => h.json.type === type);
  }

  /** Answers every held request with `status`. */
  release(status = 204): void {
    for (const res of this.held.splice(0)) {
      res.statusCode = status;
      res.end();
    }
  }

  /** Drops every held request without an answer (as a receiver that crashed mid-request). */
  drop(): void {
    for (const res of this.held.splice(0)) res.socket?.destroy();
  }

  async stop(): Promise<void> {
    for (const res of this.held) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
