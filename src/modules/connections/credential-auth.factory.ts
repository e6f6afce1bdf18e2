import { Inject, Injectable, Logger } from '@nestjs/common';
import { EventBus } from '@nestjs/cqrs';
import { DataSource } from 'typeorm';
import { APP_CONFIG, type AppConfig } from '../../config/app-config.js';
import { TokenCipher } from '../../infrastructure/crypto/token-cipher.js';
import { findById } from '../../infrastructure/database/find-by-id.js';
import type { ProviderAuth, ProviderTokens } from '../providers/provider-auth.js';
import { CredentialNotFoundError } from './connections.errors.js';
import { CredentialEntity } from './entities/credential.entity.js';
import { CredentialInvalidated } from './events/credential-invalidated.event.js';
import { HostEventRecorder } from '../host-events/ports/host-event-recorder.port.js';

/**
 * Opens a credential for a provider adapter: decrypts its tokens, persists refreshed ones
 * (encrypted), and marks the credential invalid when the user revoked access.
 * Exported so other modules act for a credential without touching its table.
 */
@Injectable()
export class CredentialAuthFactory {
  private readonly logger = new Logger('CredentialAuthFactory');
  readonly cipher: TokenCipher;

  constructor(
    private readonly dataSource: DataSource,
    private readonly eventBus: EventBus,
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly hostEvents: HostEventRecorder,
  ) {
    this.cipher = new TokenCipher(config.encryptionKey);
  }

  seal(tokens: ProviderTokens): string {
    return this.cipher.sealJson(tokens);
  }

  async open(credentialId: number): Promise<{ credential: CredentialEntity; auth: ProviderAuth }> {
    const credential = await findById(this.dataSource, CredentialEntity, credentialId);
    if (!credential) throw new CredentialNotFoundError(credentialId);
    return { credential, auth: this.authFor(credential) };
  }

  /** Acts with sealed tokens alone (the credential row may be gone); nothing is persisted back. */
  authFromSealed(credentialId: number, sealedKey: string): ProviderAuth {
    return {
      credentialId,
      tokens: this.cipher.openJson<ProviderTokens>(sealedKey),
      onTokensRefreshed: async () => undefined,
      onGrantRevoked: async () => undefined,
    };
  }

  authFor(credential: CredentialEntity): ProviderAuth {
    const tokens = this.cipher.openJson<ProviderTokens>(credential.encryptedKey);
    return {
      credentialId: credential.id,
      tokens,
      onTokensRefreshed: async (next) => {
        await this.dataSource.manager.update(
          CredentialEntity,
          { id: credential.id },
          { encryptedKey: this.seal(next), expiresAt: next.expiresAt ? new Date(next.expiresAt) : null },
        );
      },
      onGrantRevoked: async (reason) => {
        // The host's `credential.invalidated` commits with the status change (once: only the
        // update that turns it invalid records it).
        const result = await this.dataSource.transaction(async (manager) => {
          const update = await manager.update(
            CredentialEntity,
            { id: credential.id, status: 'active' },
            { status: 'invalid', invalidReason: reason.slice(0, 500) },
          );
          if ((update.affected ?? 0) > 0) {
            await this.hostEvents.record(manager, {
              type: 'credential.invalidated',
              data: {
                credential: { id: credential.id, userId: credential.userId, provider: credential.provider, status: 'invalid' },
                reason: reason.slice(0, 500),
              },
            });
          }
          return update;
        });
        if ((result.affected ?? 0) > 0) {
          this.logger.warn(`Credential ${credential.id} (${credential.provider}) was revoked by the user; marked invalid`);
          this.eventBus.publish(new CredentialInvalidated(credential.id, credential.userId));
        }
      },
    };
  }
}
