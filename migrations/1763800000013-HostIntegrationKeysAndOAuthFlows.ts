import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Host integration: idempotent writes, cursor paging, the three-step OAuth flow.
 * - `IdempotencyKey` (owner: src/common/idempotency): one row per (scope, key) an application sent
 *   with `Idempotency-Key`. `scope` is the API key's fingerprint and the route; `fingerprint` the
 *   hash of the request (method, path, body); `status`/`response` the first answer (JSON text, so
 *   a replay answers the same bytes; JSONB would reorder the keys). The row is
 *   written in the same transaction as the change it answers, so neither exists without the other.
 *   Kept until `expiresAt` (24 h), then removed by the `idempotency-cleanup` job.
 * - `OAuthFlow` (owner: connections): one row per `POST …/oauth/start`. The `state` sent to the
 *   provider is single-use (`callbackAt` set once) and stored hashed; the PKCE `codeVerifier` lives
 *   here until the callback; the one-time completion code is stored hashed (`codeHash`) with the
 *   provider's tokens sealed (`sealedTokens`) until the host completes the flow for its user
 *   (`completedAt`), or the code expires. `failure` holds why a flow ended without a credential.
 * - `Booking_updatedAt_id_idx`: `GET /api/v1/bookings?updatedSince=` pages on ("updatedAt", "id").
 */
export class HostIntegrationKeysAndOAuthFlows1763800000013 implements MigrationInterface {
  name = 'HostIntegrationKeysAndOAuthFlows1763800000013';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE "IdempotencyKey" (
        "scope" TEXT NOT NULL,
        "key" TEXT NOT NULL CHECK (length("key") BETWEEN 1 AND 255),
        "fingerprint" TEXT NOT NULL,
        "status" INTEGER,
        "response" TEXT,
        "createdAt" TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
        "expiresAt" TIMESTAMPTZ NOT NULL,
        PRIMARY KEY ("scope", "key")
      );
      CREATE INDEX "IdempotencyKey_expiresAt_idx" ON "IdempotencyKey" ("expiresAt");

      CREATE TABLE "OAuthFlow" (
        "id" UUID PRIMARY KEY,
        "userId" INTEGER NOT NULL REFERENCES "User"("id") ON DELETE CASCADE,
        "provider" TEXT NOT NULL,
        "returnUrl" TEXT NOT NULL,
        "stateHash" TEXT NOT NULL UNIQUE,
        "codeVerifier" TEXT,
        "stateExpiresAt" TIMESTAMPTZ NOT NULL,
        "createdAt" TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
        "callbackAt" TIMESTAMPTZ,
        "codeHash" TEXT UNIQUE,
        "codeExpiresAt" TIMESTAMPTZ,
        "sealedTokens" TEXT,
        "tokenExpiresAt" TIMESTAMPTZ,
        "completedAt" TIMESTAMPTZ,
        "credentialId" INTEGER REFERENCES "Credential"("id") ON DELETE SET NULL,
        "failure" TEXT
      );
      CREATE INDEX "OAuthFlow_stateExpiresAt_idx" ON "OAuthFlow" ("stateExpiresAt");

      CREATE INDEX "Booking_updatedAt_id_idx" ON "Booking" ("updatedAt", "id");
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      DROP INDEX IF EXISTS "Booking_updatedAt_id_idx";
      DROP TABLE IF EXISTS "OAuthFlow";
      DROP TABLE IF EXISTS "IdempotencyKey";
    `);
  }
}
