import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { EventBus } from '@nestjs/cqrs';
import { DataSource, type EntityManager } from 'typeorm';
import { APP_CONFIG, type AppConfig } from '../../config/app-config.js';
import { type ResealReport, resealInBatches } from '../../infrastructure/crypto/reseal.js';
import { SealedValueUnreadableError, TokenCipher } from '../../infrastructure/crypto/token-cipher.js';
import { StartupRefusedError } from '../../infrastructure/lifecycle/startup-refused.error.js';
import { findById } from '../../infrastructure/database/find-by-id.js';
import type { ProviderAuth, ProviderTokens } from '../providers/provider-auth.js';
import { CredentialNotFoundError, CredentialUnreadableError } from './connections.errors.js';
import { CredentialEntity } from './entities/credential.entity.js';
import { CredentialInvalidated } from './events/credential-invalidated.event.js';
import { HostEventRecorder } from '../host-events/ports/host-event-recorder.port.js';

export type { ResealReport };

/** How many of the newest stored credentials the start-up check tries to open (and warns about). */
const STARTUP_SAMPLE = 20;

/** The additional data a credential's tokens are sealed with: they open for this row only. */
export const credentialContext = (credentialId: number) => `credential:${credentialId}`;

/**
 * Opens a credential for a provider adapter: decrypts its tokens, persists refreshed ones
 * (encrypted), and marks the credential invalid when the user revoked access.
 * Exported so other modules act for a credential without touching its table.
 *
 * Tokens are sealed with the first key of `ENCRYPTION_KEY` and bound to their row
 * (`credential:<id>`), so a row id is drawn (`nextCredentialId`) before a new credential is sealed.
 */
@Injectable()
export class CredentialAuthFactory implements OnModuleInit {
  private readonly logger = new Logger('CredentialAuthFactory');
  readonly cipher: TokenCipher;

  constructor(
    private readonly dataSource: DataSource,
    private readonly eventBus: EventBus,
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly hostEvents: HostEventRecorder,
  ) {
    this.cipher = new TokenCipher(config.encryptionKeys);
  }

  /**
   * A key list that opens none of the stored credentials stops the start: otherwise every sync would
   * fail. It tries the newest few credentials, then the newest sealed under each key of the ring (a
   * `v2` value names its key: one walk down from the newest per key, which stops at the first match,
   * however old) and the newest of the older `v1` format. Some unreadable among the newest only warn
   * (re-seal task).
   */
  async onModuleInit(): Promise<void> {
    const newest: Array<{ id: number; encryptedKey: string }> = await this.dataSource.query(
      `SELECT "id", "encryptedKey" FROM "Credential" ORDER BY "id" DESC LIMIT $1`,
      [STARTUP_SAMPLE],
    );
    if (newest.length === 0) return;
    const openedOfNewest = newest.filter((row) => this.opens(row.id, row.encryptedKey)).length;
    if (openedOfNewest === 0 && !(await this.anyOpensUnderRing())) {
      throw new StartupRefusedError(
        'ENCRYPTION_KEY does not open the stored credentials (none sealed with a key of the configured list opens, nor any of the ' +
          `${newest.length} newest). Set ENCRYPTION_KEY to the key they were sealed with; to rotate, list the new key first and the old one after it, ` +
          'comma-separated (the first seals, every one opens), then run POST /api/v1/admin/tasks/reseal-credentials/run.',
      );
    }
    if (openedOfNewest === newest.length) return;
    // Sealed under a key the list no longer has (a key dropped too early, a rollback to an old list):
    // those calendars cannot sync until it is listed again, so an error naming the key's public id.
    const ring = new Set(this.cipher.keyIds);
    const missingKeys = new Map<string, number>();
    for (const row of newest) {
      const keyId = TokenCipher.keyIdOf(row.encryptedKey);
      if (keyId !== null && !ring.has(keyId)) missingKeys.set(keyId, (missingKeys.get(keyId) ?? 0) + 1);
    }
    if (missingKeys.size > 0) {
      const listed = [...missingKeys].map(([keyId, count]) => `${count} under key id ${keyId}`).join(', ');
      this.logger.error(
        `Of the ${newest.length} newest credentials, ${listed}: sealed with a key that is not in ENCRYPTION_KEY, so their ` +
          'calendars cannot sync. List that key again (the first seals, every one opens), then run the reseal-credentials task',
      );
    }
    this.logger.warn(
      `${newest.length - openedOfNewest} of the ${newest.length} newest credentials do not open with ENCRYPTION_KEY; run the reseal-credentials task for the list`,
    );
  }

  /**
   * True when, for some key of the ring, the newest credential sealed under it opens, or the newest
   * of the older format (any key of the ring may open that one).
   */
  private async anyOpensUnderRing(): Promise<boolean> {
    const rows: Array<{ id: number; encryptedKey: string }> = await this.dataSource.query(
      `SELECT c."id", c."encryptedKey"
         FROM unnest($1::text[]) AS k(prefix)
         CROSS JOIN LATERAL (
           SELECT "id", "encryptedKey" FROM "Credential" WHERE starts_with("encryptedKey", k.prefix) ORDER BY "id" DESC LIMIT 1
         ) c`,
      [[...this.cipher.keyIds, null].map((keyId) => TokenCipher.prefixOf(keyId))],
    );
    return rows.some((row) => this.opens(row.id, row.encryptedKey));
  }

  /**
   * Inserts an active credential whose tokens are sealed for its own row: the id is drawn from the
   * sequence first, then the row is written with it (a failed insert leaves a gap, nothing else).
   */
  async insertCredential(
    manager: EntityManager,
    row: { userId: number; provider: CredentialEntity['provider']; expiresAt: Date | null },
    sealFor: (credentialId: number) => string,
  ): Promise<CredentialEntity> {
    const [{ id }]: Array<{ id: string }> = await manager.query(
      `SELECT nextval(pg_get_serial_sequence('"Credential"', 'id')) AS "id"`,
    );
    const credentialId = Number(id);
    await manager.query(
      `INSERT INTO "Credential" ("id", "userId", "provider", "encryptedKey", "expiresAt", "status") VALUES ($1, $2, $3, $4, $5, 'active')`,
      [credentialId, row.userId, row.provider, sealFor(credentialId), row.expiresAt],
    );
    return manager.findOneByOrFail(CredentialEntity, { id: credentialId });
  }

  seal(credentialId: number, tokens: ProviderTokens): string {
    return this.cipher.sealJson(tokens, credentialContext(credentialId));
  }

  /** Seals tokens awaiting their credential (an OAuth flow's), bound to `context`. */
  sealFor(context: string, tokens: ProviderTokens): string {
    return this.cipher.sealJson(tokens, context);
  }

  /** Opens what `sealFor(context, …)` sealed and seals it again for the credential row. */
  transfer(sealed: string, fromContext: string, credentialId: number): string {
    return this.cipher.seal(this.cipher.open(sealed, fromContext), credentialContext(credentialId));
  }

  /** Re-seals every credential's tokens with the first key, in batches (the reseal-credentials task). */
  resealAll(): Promise<ResealReport> {
    return resealInBatches(this.cipher, {
      batch: (afterId, limit) =>
        this.dataSource.query(
          `SELECT "id", "encryptedKey" AS "sealed" FROM "Credential" WHERE "id" > $1 ORDER BY "id" LIMIT $2`,
          [afterId, limit],
        ),
      replace: async (id, previous, next) => {
        const result = await this.dataSource.manager.update(
          CredentialEntity,
          { id, encryptedKey: previous },
          { encryptedKey: next },
        );
        return (result.affected ?? 0) > 0;
      },
      context: credentialContext,
    });
  }

  private opens(credentialId: number, sealed: string): boolean {
    try {
      this.cipher.open(sealed, credentialContext(credentialId));
      return true;
    } catch (error) {
      if (error instanceof SealedValueUnreadableError) return false;
      throw error;
    }
  }

  private openTokens(credentialId: number, sealed: string): ProviderTokens {
    try {
      return this.cipher.openJson<ProviderTokens>(sealed, credentialContext(credentialId));
    } catch (error) {
      if (error instanceof SealedValueUnreadableError) throw new CredentialUnreadableError(credentialId);
      throw error;
    }
  }

  async open(credentialId: number): Promise<{ credential: CredentialEntity; auth: ProviderAuth }> {
    const credential = await findById(this.dataSource, CredentialEntity, credentialId);
    if (!credential) throw new CredentialNotFoundError(credentialId);
    return { credential, auth: this.authFor(credential) };
  }

  /**
   * The credential of a selected calendar, opened, read by the calendar's id: a sync reads it
   * beside the calendar's own row rather than after it (one round trip less on every push's
   * path). Null when the calendar or the credential is gone.
   */
  async openForCalendar(selectedCalendarId: number): Promise<{ credential: CredentialEntity; auth: ProviderAuth } | null> {
    const rows: object[] = await this.dataSource.query(
      `SELECT c.* FROM "SelectedCalendar" sc JOIN "Credential" c ON c."id" = sc."credentialId" WHERE sc."id" = $1`,
      [selectedCalendarId],
    );
    if (!rows[0]) return null;
    const credential = Object.assign(new CredentialEntity(), rows[0]);
    return { credential, auth: this.authFor(credential) };
  }

  /** Acts with sealed tokens alone (the credential row may be gone); nothing is persisted back. */
  authFromSealed(credentialId: number, sealedKey: string): ProviderAuth {
    return {
      credentialId,
      tokens: this.openTokens(credentialId, sealedKey),
      onTokensRefreshed: async () => undefined,
      onGrantRevoked: async () => undefined,
    };
  }

  authFor(credential: CredentialEntity): ProviderAuth {
    const tokens = this.openTokens(credential.id, credential.encryptedKey);
    return {
      credentialId: credential.id,
      tokens,
      onTokensRefreshed: async (next) => {
        await this.dataSource.manager.update(
          CredentialEntity,
          { id: credential.id },
          { encryptedKey: this.seal(credential.id, next), expiresAt: next.expiresAt ? new Date(next.expiresAt) : null },
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
