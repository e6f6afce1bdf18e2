import { type BenchApp, expectStatus, sleep } from './bench-env.js';

export const CACHE_FLAG = 'calendar-subscription-cache';
export const SYNC_FLAG = 'calendar-subscription-sync';

export type BenchProvider = 'google_calendar' | 'office365_calendar';

export interface BenchHost {
  provider: BenchProvider;
  userId: number;
  email: string;
  credentialId: number;
  /** The account's primary calendar (Google: its id is the email; Outlook: the default calendar's id). */
  primaryCalendarId: string;
  /** Outlook only: the Graph user id, as notifications name it in `resource`. */
  graphUserId?: string;
}

let counter = 0;

/** A user with a Google account in the emulator, connected through the API (optionally with a destination calendar). */
export async function createGoogleHost(
  b: Pick<BenchApp, 'emulator' | 'api'>,
  label: string,
  options: { destination?: boolean } = {},
): Promise<BenchHost> {
  counter += 1;
  const email = `bench-${label}-${counter}-${process.pid}-${Date.now().toString(36)}@example.com`;
  const account = b.emulator.addAccount({ email });
  const user = expectStatus(
    await b.api<{ id: number }>('POST', '/api/v1/users', { email, name: `Bench ${label}`, timeZone: 'UTC' }),
    201,
    'create user',
  );
  const credential = expectStatus(
    await b.api<{ id: number }>('POST', `/api/v1/users/${user.id}/credentials`, {
      provider: 'google_calendar',
      accessToken: account.accessToken,
      refreshToken: account.refreshToken,
      expiresAt: new Date(Date.now() + 3600_000).toISOString(),
    }),
    201,
    'connect Google',
  );
  if (options.destination) {
    expectStatus(
      await b.api('PUT', `/api/v1/users/${user.id}/destination-calendar`, { credentialId: credential.id, externalId: email }),
      200,
      'set destination calendar',
    );
  }
  return { provider: 'google_calendar', userId: user.id, email, credentialId: credential.id, primaryCalendarId: email };
}

/**
 * A user with an Outlook account in the Graph emulator, connected through the API (as
 * `connectOutlookHost` in the tests); its default calendar, found through the app's calendar
 * listing, optionally becomes the destination calendar.
 */
export async function createOutlookHost(
  b: Pick<BenchApp, 'microsoft' | 'api'>,
  label: string,
  options: { destination?: boolean } = {},
): Promise<BenchHost> {
  counter += 1;
  const email = `bench-${label}-${counter}-${process.pid}-${Date.now().toString(36)}@example.com`;
  const account = b.microsoft.addAccount({ email });
  const user = expectStatus(
    await b.api<{ id: number }>('POST', '/api/v1/users', { email, name: `Bench ${label}`, timeZone: 'UTC' }),
    201,
    'create user',
  );
  const credential = expectStatus(
    await b.api<{ id: number }>('POST', `/api/v1/users/${user.id}/credentials`, {
      provider: 'office365_calendar',
      accessToken: account.accessToken,
      refreshToken: account.refreshToken,
      expiresAt: new Date(Date.now() + 3600_000).toISOString(),
    }),
    201,
    'connect Outlook',
  );
  const calendars = expectStatus(
    await b.api<Array<{ id: string; primary: boolean }>>(
      'GET',
      `/api/v1/users/${user.id}/credentials/${credential.id}/calendars`,
    ),
    200,
    'list Outlook calendars',
  );
  const primary = calendars.find((c) => c.primary)?.id;
  if (primary !== account.calendarId) {
    throw new Error(`the app lists ${String(primary)} as the default Outlook calendar, the emulator ${account.calendarId}`);
  }
  if (options.destination) {
    expectStatus(
      await b.api('PUT', `/api/v1/users/${user.id}/destination-calendar`, { credentialId: credential.id, externalId: primary }),
      200,
      'set destination calendar',
    );
  }
  return {
    provider: 'office365_calendar',
    userId: user.id,
    email,
    credentialId: credential.id,
    primaryCalendarId: primary,
    graphUserId: account.userId,
  };
}

/** A host of either provider. */
export function createHost(
  b: Pick<BenchApp, 'emulator' | 'microsoft' | 'api'>,
  provider: BenchProvider,
  label: string,
  options: { destination?: boolean } = {},
): Promise<BenchHost> {
  return provider === 'google_calendar' ? createGoogleHost(b, label, options) : createOutlookHost(b, label, options);
}

/** Selects a calendar for busy times; returns the SelectedCalendar id. */
export async function selectCalendar(b: Pick<BenchApp, 'api'>, host: BenchHost, externalId: string): Promise<number> {
  const selected = expectStatus(
    await b.api<{ id: number }>('POST', `/api/v1/users/${host.userId}/selected-calendars`, {
      credentialId: host.credentialId,
      externalId,
    }),
    201,
    `select calendar ${externalId}`,
  );
  return selected.id;
}

/** Sets a flag for one user with the seed document's SQL (upserting, so it can also turn it off). */
export async function setUserFlag(b: Pick<BenchApp, 'dataSource'>, slug: string, userId: number, enabled = true): Promise<void> {
  await b.dataSource.query(
    `INSERT INTO "UserFeatures" ("userId", "featureId", "enabled", "assignedAt", "assignedBy", "updatedAt")
     VALUES ($1, $2, $3, NOW(), 'bench', NOW())
     ON CONFLICT ("userId", "featureId") DO UPDATE SET "enabled" = EXCLUDED."enabled", "updatedAt" = NOW()`,
    [userId, slug, enabled],
  );
}

/** Assigns a flag to one user through the admin API, as an operator would (the service drops its cached resolution at once). */
export async function assignUserFlag(b: Pick<BenchApp, 'admin'>, slug: string, userId: number, enabled = true): Promise<void> {
  expectStatus(
    await b.admin('PUT', `/api/v1/admin/features/${slug}/users/${userId}`, { enabled }),
    200,
    `${enabled ? 'enable' : 'disable'} ${slug} for user ${userId}`,
  );
}

export async function runTask(b: Pick<BenchApp, 'admin'>, task: string): Promise<Record<string, number>> {
  const res = expectStatus(
    await b.admin<{ result: Record<string, number> }>('POST', `/api/v1/admin/tasks/${task}/run`),
    200,
    `run ${task}`,
  );
  return res.result;
}

/**
 * Waits until no job is waiting, running or retrying and every recorded external change was
 * applied to its booking (bounded; throws on timeout).
 */
export async function waitForQueueIdle(b: Pick<BenchApp, 'dataSource'>, timeoutMs = 20_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const rows: Array<{ jobs: string; changes: string }> = await b.dataSource.query(
      `SELECT (SELECT count(*) FROM graphile_worker.jobs WHERE attempts < max_attempts)::text AS jobs,
              (SELECT count(*) FROM "ExternalEventChange" WHERE "appliedAt" IS NULL)::text AS changes`,
    );
    if (rows[0].jobs === '0' && rows[0].changes === '0') return;
    if (performance.now() > deadline) {
      throw new Error(`queue not idle after ${timeoutMs} ms: ${rows[0].jobs} job(s), ${rows[0].changes} unapplied change(s)`);
    }
    await sleep(10);
  }
}

/** Disconnects the account (its channels are stopped and its calendars and cached events go with it). */
export async function removeHost(b: Pick<BenchApp, 'api' | 'dataSource'>, host: BenchHost): Promise<void> {
  const res = await b.api('DELETE', `/api/v1/users/${host.userId}/credentials/${host.credentialId}`);
  if (res.status !== 204 && res.status !== 404) throw new Error(`remove host: HTTP ${res.status} ${JSON.stringify(res.body)}`);
  await waitForQueueIdle(b).catch(() => undefined);
}

/** Midnight UTC today, the start of the sync window. */
export function todayUtc(): Date {
  const d = new Date();
  d.setUTCHours(0, 0, 0, 0);
  return d;
}
