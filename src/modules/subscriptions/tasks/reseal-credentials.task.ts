import { Injectable, Logger } from '@nestjs/common';
import { CredentialAuthFactory, type ResealReport } from '../../connections/index.js';
import { WebhookSecretSealing } from '../../host-events/index.js';

/**
 * `reseal-credentials`: after a key rotation (`ENCRYPTION_KEY=new,old`), writes every credential's
 * tokens and every webhook endpoint's signing secret again under the first key, bound to its row
 * (values of the older format get their binding here). Batched by id; each row is a compare-and-set,
 * so a token refreshed meanwhile is kept, and a run cut short is simply run again. A row that no
 * key opens is reported (count and ids) and left as it is. On demand only (no timer); the
 * TaskRunner's advisory lock keeps it to one run at a time across instances.
 */
@Injectable()
export class ResealCredentialsTask {
  private readonly logger = new Logger('ResealCredentials');

  constructor(
    private readonly credentials: CredentialAuthFactory,
    private readonly webhookSecrets: WebhookSecretSealing,
  ) {}

  async run(): Promise<{ credentials: ResealReport; webhookEndpoints: ResealReport }> {
    const credentials = await this.credentials.resealAll();
    const webhookEndpoints = await this.webhookSecrets.resealAll();
    if (credentials.unreadable > 0 || webhookEndpoints.unreadable > 0) {
      this.logger.warn(
        `No key of ENCRYPTION_KEY opens ${credentials.unreadable} credential(s) and ${webhookEndpoints.unreadable} webhook secret(s); left unchanged`,
      );
    }
    return { credentials, webhookEndpoints };
  }
}
