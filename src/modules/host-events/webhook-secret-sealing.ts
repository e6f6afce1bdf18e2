import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { APP_CONFIG, type AppConfig } from '../../config/app-config.js';
import { type ResealReport, resealInBatches } from '../../infrastructure/crypto/reseal.js';
import { TokenCipher } from '../../infrastructure/crypto/token-cipher.js';

/** The additional data an endpoint's signing secret is sealed with: it opens for this row only. */
const endpointContext = (endpointId: number) => `webhook-endpoint:${endpointId}`;

/**
 * Seals and opens webhook endpoints' signing secrets (AES-256-GCM under the `ENCRYPTION_KEY` ring,
 * bound to the endpoint's row), and re-seals them all with the first key for the
 * `reseal-credentials` task.
 */
@Injectable()
export class WebhookSecretSealing {
  private readonly cipher: TokenCipher;

  constructor(
    private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.cipher = new TokenCipher(config.encryptionKeys);
  }

  seal(endpointId: number, secret: string): string {
    return this.cipher.seal(secret, endpointContext(endpointId));
  }

  open(endpointId: number, sealed: string): string {
    return this.cipher.open(sealed, endpointContext(endpointId));
  }

  resealAll(): Promise<ResealReport> {
    return resealInBatches(this.cipher, {
      batch: (afterId, limit) =>
        this.dataSource.query(
          `SELECT "id", "encryptedSecret" AS "sealed" FROM "WebhookEndpoint" WHERE "id" > $1 ORDER BY "id" LIMIT $2`,
          [afterId, limit],
        ),
      replace: async (id, previous, next) => {
        const rows: unknown[] = await this.dataSource.query(
          `WITH u AS (UPDATE "WebhookEndpoint" SET "encryptedSecret" = $3 WHERE "id" = $1 AND "encryptedSecret" = $2 RETURNING "id")
           SELECT * FROM u`,
          [id, previous, next],
        );
        return rows.length > 0;
      },
      context: endpointContext,
    });
  }
}
