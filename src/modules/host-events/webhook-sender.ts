import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import http from 'node:http';
import https from 'node:https';
import { Webhook } from 'standardwebhooks';
import { APP_CONFIG, type AppConfig } from '../../config/app-config.js';
import { literalAddressProblem, publicOnlyLookup } from './url-guard.js';

/** A receiver has this long to answer 2xx (headers and body). */
export const DELIVERY_TIMEOUT_MS = 10_000;
const MAX_ERROR_LENGTH = 500;

export interface SendResult {
  /** The HTTP status, when the receiver answered. */
  statusCode: number | null;
  /** Why it did not count as delivered (null when it did). */
  error: string | null;
}

/**
 * One attempt at one delivery, signed as the Standard Webhooks specification says (its reference
 * library signs: `webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`).
 * Redirects are not followed (a 3xx is a failure); keep-alive agents keep the connection to a
 * busy receiver open between deliveries.
 */
@Injectable()
export class WebhookSender implements OnModuleDestroy {
  private readonly httpAgent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  private readonly httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 64 });

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  async send(url: string, secret: string, eventId: string, body: string): Promise<SendResult> {
    const allowPrivate = this.config.webhookAllowPrivateUrls;
    if (!allowPrivate) {
      const problem = literalAddressProblem(url);
      if (problem) return { statusCode: null, error: `refused: ${problem}` };
    }
    const now = new Date();
    const signature = new Webhook(secret).sign(eventId, now, body);
    const target = new URL(url);
    const secure = target.protocol === 'https:';
    return new Promise<SendResult>((resolve) => {
      let settled = false;
      const finish = (result: SendResult) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(result);
      };
      const request = (secure ? https : http).request(
        target,
        {
          method: 'POST',
          agent: secure ? this.httpsAgent : this.httpAgent,
          ...(allowPrivate ? {} : { lookup: publicOnlyLookup }),
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            'user-agent': 'calsync-webhooks/1',
            'webhook-id': eventId,
            'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
            'webhook-signature': signature,
          },
        },
        (response) => {
          // The body is read (and dropped) so the connection can be reused.
          response.on('data', () => undefined);
          response.on('error', (error) => finish({ statusCode: response.statusCode ?? null, error: error.message }));
          response.on('end', () => {
            const status = response.statusCode ?? 0;
            finish({ statusCode: status, error: status >= 200 && status < 300 ? null : `HTTP ${status}` });
          });
        },
      );
      const timer = setTimeout(() => {
        finish({ statusCode: null, error: `no answer within ${DELIVERY_TIMEOUT_MS / 1000} s` });
        request.destroy();
      }, DELIVERY_TIMEOUT_MS);
      request.on('error', (error) => finish({ statusCode: null, error: error.message.slice(0, MAX_ERROR_LENGTH) }));
      request.end(body);
    });
  }

  onModuleDestroy(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}
