import http from 'node:http';
import https from 'node:https';
import { badRequest } from './errors.js';

/**
 * POSTs to web-hook receivers (validation handshakes, notifications, lifecycle events). Receivers must be on
 * loopback: the emulator never sends traffic off the machine. Sandbox receivers often use self-signed
 * certificates; there is nothing to protect on loopback, so https certificates are not checked.
 */

export interface ReceiverAnswer {
  status: number;
  body: string;
}

export class WebhookTimeout extends Error {}

export class WebhookClient {
  private readonly httpAgent = new http.Agent({ keepAlive: true, maxSockets: 32 });
  private readonly httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 32, rejectUnauthorized: false });

  post(address: string, body: string, contentType: string, timeoutMs: number): Promise<ReceiverAnswer> {
    return new Promise<ReceiverAnswer>((resolve, reject) => {
      const url = new URL(address);
      const secure = url.protocol === 'https:';
      const req = (secure ? https : http).request(
        url,
        {
          method: 'POST',
          headers: {
            'Content-Type': contentType,
            'Content-Length': String(Buffer.byteLength(body)),
            'User-Agent': 'Microsoft-Graph-Emulator/1.0',
          },
          agent: secure ? this.httpsAgent : this.httpAgent,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            clearTimeout(timer);
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
          });
          res.on('error', (err) => {
            clearTimeout(timer);
            reject(err);
          });
        },
      );
      // A deadline for the whole exchange (a socket timeout only fires on idleness).
      const timer = setTimeout(() => req.destroy(new WebhookTimeout(`no answer within ${timeoutMs} ms`)), timeoutMs);
      req.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      req.end(body);
    });
  }

  destroy(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}

/** Only loopback receivers (127.x, localhost, ::1), over http or https. */
export function checkLoopback(address: unknown, field: string): string {
  if (typeof address !== 'string' || !address) throw badRequest(`${field} is required.`, 'InvalidRequest');
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    throw badRequest(`${field} is not a valid URL: ${address}`, 'InvalidRequest');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw badRequest(`${field} must be an http(s) URL.`, 'InvalidRequest');
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!(host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host))) {
    throw badRequest(`${field} ${address} is refused: the emulator only sends to loopback addresses.`, 'InvalidRequest');
  }
  return address;
}
