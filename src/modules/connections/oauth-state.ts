import { createHmac, randomBytes } from 'node:crypto';
import { constantTimeEquals } from '../../infrastructure/crypto/constant-time.js';

interface StatePayload {
  userId: number;
  provider: string;
  exp: number;
}

/** A tamper-proof, expiring OAuth `state`: the callback trusts the user id only because it is signed. */
export class OAuthState {
  private readonly key: Buffer;

  constructor(secret: Buffer) {
    this.key = createHmac('sha256', secret).update('calsync oauth state').digest();
  }

  sign(userId: number, provider: string, ttlSeconds = 600): string {
    const payload: StatePayload & { n: string } = {
      userId,
      provider,
      exp: Date.now() + ttlSeconds * 1000,
      n: randomBytes(8).toString('base64url'),
    };
    const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
    return `${body}.${this.mac(body)}`;
  }

  verify(state: string, provider: string): StatePayload | null {
    const [body, mac] = state.split('.');
    if (!body || !mac || !constantTimeEquals(mac, this.mac(body))) return null;
    try {
      const payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as StatePayload;
      if (payload.provider !== provider || payload.exp < Date.now()) return null;
      return payload;
    } catch {
      return null;
    }
  }

  private mac(body: string): string {
    return createHmac('sha256', this.key).update(body).digest('base64url');
  }
}
