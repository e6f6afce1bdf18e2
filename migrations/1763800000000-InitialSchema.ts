import type { MigrationInterface, QueryRunner } from 'typeorm';

export class InitialSchema1763800000000 implements MigrationInterface {
  name = 'InitialSchema1763800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE "User" (
        "id" SERIAL PRIMARY KEY,
        "email" TEXT NOT NULL,
        "name" TEXT,
        "timeZone" TEXT NOT NULL DEFAULT 'UTC',
        "createdAt" TIMESTAMPTZ NOT NULL DEFAULT now(),
        "updatedAt" TIMESTAMPTZ NOT NULL DEFAULT now()
      );
      CREATE UNIQUE INDEX "User_email_key" ON "User" (lower("email"));

      CREATE TABLE "Team" (
        "id" SERIAL PRIMARY KEY,
        "name" TEXT NOT NULL,
        "parentId" INTEGER REFERENCES "Team"("id") ON DELETE SET NULL,
        "createdAt" TIMESTAMPTZ NOT NULL DEFAULT now()
      );
      CREATE INDEX "Team_parentId_idx" ON "Team" ("parentId");

      CREATE TABLE "Membership" (
        "teamId" INTEGER NOT NULL REFERENCES "Team"("id") ON DELETE CASCADE,
        "userId" INTEGER NOT NULL REFERENCES "User"("id") ON DELETE CASCADE,
        "createdAt" TIMESTAMPTZ NOT NULL DEFAULT now(),
        PRIMARY KEY ("teamId", "userId")
      );
      CREATE INDEX "Membership_userId_idx" ON "Membership" ("userId");

      CREATE TABLE "Credential" (
        "id" SERIAL PRIMARY KEY,
        "userId" INTEGER NOT NULL REFERENCES "User"("id") ON DELETE CASCADE,
        "provider" TEXT NOT NULL CHECK ("provider" IN ('google_calendar', 'office365_calendar')),
        "encryptedKey" TEXT NOT NULL,
        "expiresAt" TIMESTAMPTZ,
        "status" TEXT NOT NULL DEFAULT 'active' CHECK ("status" IN ('active', 'invalid')),
        "invalidReason" TEXT,
        "createdAt" TIMESTAMPTZ NOT NULL DEFAULT now(),
        "updatedAt" TIMESTAMPTZ NOT NULL DEFAULT now()
      );
      CREATE INDEX "Credential_userId_idx" ON "Credential" ("userId");

      CREATE TABLE "SelectedCalendar" (
        "id" SERIAL PRIMARY KEY,
        "userId" INTEGER NOT NULL REFERENCES "User"("id") ON DELETE CASCADE,
        "credentialId" INTEGER NOT NULL REFERENCES "Credential"("id") ON DELETE CASCADE,
        "integration" TEXT NOT NULL,
        "externalId" TEXT NOT NULL,
        "busySource" BOOLEAN NOT NULL DEFAULT true,
        "channelId" TEXT,
        "channelResourceId" TEXT,
        "channelResourceUri" TEXT,
        "channelKind" TEXT,
        "channelExpiration" TIMESTAMPTZ,
        "syncToken" TEXT,
        "syncedAt" TIMESTAMPTZ,
        "syncErrorAt" TIMESTAMPTZ,
        "syncErrorCount" INTEGER NOT NULL DEFAULT 0,
        "syncSubscribedAt" TIMESTAMPTZ,
        "lastError" TEXT,
        "nextSubscribeAttemptAt" TIMESTAMPTZ,
        "cacheEnabled" BOOLEAN NOT NULL DEFAULT false,
        "createdAt" TIMESTAMPTZ NOT NULL DEFAULT now(),
        "updatedAt" TIMESTAMPTZ NOT NULL DEFAULT now()
      );
      CREATE UNIQUE INDEX "SelectedCalendar_credential_externalId_key" ON "SelectedCalendar" ("credentialId", "externalId");
      CREATE INDEX "SelectedCalendar_userId_idx" ON "SelectedCalendar" ("userId");
      CREATE UNIQUE INDEX "SelectedCalendar_channelId_key" ON "SelectedCalendar" ("channelId") WHERE "channelId" IS NOT NULL;
      CREATE INDEX "SelectedCalendar_channelExpiration_idx" ON "SelectedCalendar" ("channelExpiration");

      CREATE TABLE "DestinationCalendar" (
        "id" SERIAL PRIMARY KEY,
        "userId" INTEGER NOT NULL UNIQUE REFERENCES "User"("id") ON DELETE CASCADE,
        "credentialId" INTEGER NOT NULL REFERENCES "Credential"("id") ON DELETE CASCADE,
        "externalId" TEXT NOT NULL,
        "selectedCalendarId" INTEGER NOT NULL REFERENCES "SelectedCalendar"("id") ON DELETE CASCADE,
        "createdAt" TIMESTAMPTZ NOT NULL DEFAULT now(),
        "updatedAt" TIMESTAMPTZ NOT NULL DEFAULT now()
      );
      CREATE INDEX "DestinationCalendar_selectedCalendarId_idx" ON "DestinationCalendar" ("selectedCalendarId");

      CREATE TABLE "Booking" (
        "id" SERIAL PRIMARY KEY,
        "uid" UUID NOT NULL UNIQUE,
        "userId" INTEGER NOT NULL REFERENCES "User"("id") ON DELETE CASCADE,
        "title" TEXT NOT NULL,
        "description" TEXT,
        "location" TEXT,
        "startTime" TIMESTAMPTZ NOT NULL,
        "endTime" TIMESTAMPTZ NOT NULL,
        "status" TEXT NOT NULL DEFAULT 'accepted' CHECK ("status" IN ('accepted', 'cancelled')),
        "cancellationReason" TEXT,
        "createdAt" TIMESTAMPTZ NOT NULL DEFAULT now(),
        "updatedAt" TIMESTAMPTZ NOT NULL DEFAULT now(),
        CHECK ("endTime" > "startTime")
      );
      CREATE INDEX "Booking_userId_startTime_idx" ON "Booking" ("userId", "startTime");

      CREATE TABLE "Attendee" (
        "id" SERIAL PRIMARY KEY,
        "bookingId" INTEGER NOT NULL REFERENCES "Booking"("id") ON DELETE CASCADE,
        "email" TEXT NOT NULL,
        "name" TEXT
      );
      CREATE UNIQUE INDEX "Attendee_booking_email_key" ON "Attendee" ("bookingId", lower("email"));

      CREATE TABLE "BookingReference" (
        "id" SERIAL PRIMARY KEY,
        "bookingId" INTEGER NOT NULL REFERENCES "Booking"("id") ON DELETE CASCADE,
        "provider" TEXT NOT NULL,
        "credentialId" INTEGER REFERENCES "Credential"("id") ON DELETE SET NULL,
        "externalCalendarId" TEXT NOT NULL,
        "externalEventId" TEXT NOT NULL,
        "iCalUID" TEXT,
        "baseline" JSONB,
        "deletedAt" TIMESTAMPTZ,
        "createdAt" TIMESTAMPTZ NOT NULL DEFAULT now(),
        "updatedAt" TIMESTAMPTZ NOT NULL DEFAULT now()
      );
      CREATE UNIQUE INDEX "BookingReference_bookingId_key" ON "BookingReference" ("bookingId");
      CREATE INDEX "BookingReference_external_idx" ON "BookingReference" ("credentialId", "externalCalendarId", "externalEventId");
      CREATE INDEX "BookingReference_iCalUID_idx" ON "BookingReference" ("iCalUID");

      CREATE TABLE "BookingHistory" (
        "id" BIGSERIAL PRIMARY KEY,
        "bookingId" INTEGER NOT NULL REFERENCES "Booking"("id") ON DELETE CASCADE,
        "at" TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
        "action" TEXT NOT NULL CHECK ("action" IN ('created', 'rescheduled', 'cancelled', 'updated')),
        "source" TEXT NOT NULL CHECK ("source" IN ('api', 'google_calendar', 'office365_calendar')),
        "changes" JSONB NOT NULL DEFAULT '{}'
      );
      CREATE INDEX "BookingHistory_bookingId_idx" ON "BookingHistory" ("bookingId", "id");

      CREATE TABLE "ExternalEventChange" (
        "id" BIGSERIAL PRIMARY KEY,
        "bookingId" INTEGER NOT NULL REFERENCES "Booking"("id") ON DELETE CASCADE,
        "selectedCalendarId" INTEGER,
        "source" TEXT NOT NULL,
        "kind" TEXT NOT NULL CHECK ("kind" IN ('rescheduled', 'deleted', 'details', 'attendees')),
        "payload" JSONB NOT NULL,
        "detectedAt" TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
        "appliedAt" TIMESTAMPTZ,
        "outcome" TEXT
      );
      CREATE INDEX "ExternalEventChange_pending_idx" ON "ExternalEventChange" ("detectedAt") WHERE "appliedAt" IS NULL;

      CREATE TABLE "CalendarCacheEvent" (
        "selectedCalendarId" INTEGER NOT NULL REFERENCES "SelectedCalendar"("id") ON DELETE CASCADE,
        "externalId" TEXT NOT NULL,
        "iCalUID" TEXT,
        "start" TIMESTAMPTZ NOT NULL,
        "end" TIMESTAMPTZ NOT NULL,
        "isAllDay" BOOLEAN NOT NULL DEFAULT false,
        "startDate" DATE,
        "endDate" DATE,
        "status" TEXT NOT NULL DEFAULT 'confirmed',
        "recurringEventId" TEXT,
        "etag" TEXT,
        "externalUpdatedAt" TIMESTAMPTZ,
        "cachedAt" TIMESTAMPTZ NOT NULL DEFAULT now(),
        PRIMARY KEY ("selectedCalendarId", "externalId")
      );
      CREATE INDEX "CalendarCacheEvent_range_idx" ON "CalendarCacheEvent" ("selectedCalendarId", "start", "end");
      CREATE INDEX "CalendarCacheEvent_end_idx" ON "CalendarCacheEvent" ("end");

      CREATE TABLE "Feature" (
        "slug" TEXT PRIMARY KEY,
        "enabled" BOOLEAN NOT NULL DEFAULT false,
        "description" TEXT,
        "type" TEXT NOT NULL DEFAULT 'RELEASE'
          CHECK ("type" IN ('RELEASE', 'EXPERIMENT', 'OPERATIONAL', 'KILL_SWITCH', 'PERMISSION')),
        "stale" BOOLEAN NOT NULL DEFAULT false,
        "lastUsedAt" TIMESTAMPTZ,
        "createdAt" TIMESTAMPTZ NOT NULL DEFAULT now(),
        "updatedAt" TIMESTAMPTZ NOT NULL DEFAULT now(),
        "updatedBy" TEXT
      );

      CREATE TABLE "UserFeatures" (
        "userId" INTEGER NOT NULL REFERENCES "User"("id") ON DELETE CASCADE,
        "featureId" TEXT NOT NULL REFERENCES "Feature"("slug") ON DELETE CASCADE,
        "enabled" BOOLEAN NOT NULL DEFAULT true,
        "assignedAt" TIMESTAMPTZ NOT NULL DEFAULT now(),
        "assignedBy" TEXT NOT NULL,
        "updatedAt" TIMESTAMPTZ NOT NULL DEFAULT now(),
        PRIMARY KEY ("userId", "featureId")
      );
      CREATE INDEX "UserFeatures_featureId_idx" ON "UserFeatures" ("featureId");

      CREATE TABLE "TeamFeatures" (
        "teamId" INTEGER NOT NULL REFERENCES "Team"("id") ON DELETE CASCADE,
        "featureId" TEXT NOT NULL REFERENCES "Feature"("slug") ON DELETE CASCADE,
        "enabled" BOOLEAN NOT NULL DEFAULT true,
        "assignedAt" TIMESTAMPTZ NOT NULL DEFAULT now(),
        "assignedBy" TEXT NOT NULL,
        "updatedAt" TIMESTAMPTZ NOT NULL DEFAULT now(),
        PRIMARY KEY ("teamId", "featureId")
      );
      CREATE INDEX "TeamFeatures_featureId_idx" ON "TeamFeatures" ("featureId");

      INSERT INTO "Feature" ("slug", "enabled", "description", "type") VALUES
        ('calendar-subscription-cache', false, 'Allow calendar cache to be recorded and used through calendars.', 'OPERATIONAL'),
        ('calendar-subscription-sync', false, 'Enable calendar sync for all calendars globally.', 'OPERATIONAL')
      ON CONFLICT ("slug") DO NOTHING;
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      DROP TABLE IF EXISTS "TeamFeatures", "UserFeatures", "Feature", "CalendarCacheEvent", "ExternalEventChange",
        "BookingHistory", "BookingReference", "Attendee", "Booking", "DestinationCalendar", "SelectedCalendar",
        "Credential", "Membership", "Team", "User" CASCADE;
    `);
  }
}
