import type { TestApp } from './create-test-app.js';

let counter = 0;

/** A user with no connection, created through the API; its id. */
export async function createUser(t: TestApp, prefix = 'user'): Promise<number> {
  const res = await t.api
    .post('/api/v1/users')
    .send({ email: `${prefix}.${Date.now()}.${++counter}@example.com`, name: prefix, timeZone: 'UTC' })
    .expect(201);
  return res.body.id as number;
}

export interface Host {
  userId: number;
  email: string;
  credentialId: number;
  calendarId: string;
  refreshToken: string;
}

/**
 * A user with a Google account in the emulator, connected through the API, whose primary
 * calendar is the destination calendar.
 */
export async function connectGoogleHost(
  t: TestApp,
  options: { id?: number; timeZone?: string; destination?: boolean } = {},
): Promise<Host> {
  counter += 1;
  const email = `host${counter}.${process.pid}@example.com`;
  const account = t.google.addAccount({ email });
  const user = await t.api
    .post('/api/v1/users')
    .send({
      ...(options.id ? { id: options.id } : {}),
      email,
      name: `Host ${counter}`,
      timeZone: options.timeZone ?? 'Europe/Berlin',
    })
    .expect(201);
  const credential = await t.api
    .post(`/api/v1/users/${user.body.id}/credentials`)
    .send({
      provider: 'google_calendar',
      accessToken: account.accessToken,
      refreshToken: account.refreshToken,
      expiresAt: new Date(Date.now() + 3600_000).toISOString(),
    })
    .expect(201);
  if (options.destination !== false) {
    await t.api
      .put(`/api/v1/users/${user.body.id}/destination-calendar`)
      .send({ credentialId: credential.body.id, externalId: email })
      .expect(200);
  }
  return { userId: user.body.id, email, credentialId: credential.body.id, calendarId: email, refreshToken: account.refreshToken };
}

/** A slot `daysAhead` days from now at a whole hour, `minutes` long. */
export function slot(daysAhead: number, hour = 10, minutes = 30): { startTime: string; endTime: string } {
  const start = new Date();
  start.setUTCDate(start.getUTCDate() + daysAhead);
  start.setUTCHours(hour, 0, 0, 0);
  const end = new Date(start.getTime() + minutes * 60_000);
  return { startTime: start.toISOString(), endTime: end.toISOString() };
}

/**
 * A user with an Outlook account in the Graph emulator, connected through the API, whose default
 * calendar is the destination calendar.
 */
export async function connectOutlookHost(
  t: TestApp,
  options: { id?: number; timeZone?: string; destination?: boolean } = {},
): Promise<Host> {
  counter += 1;
  const email = `outlook${counter}.${process.pid}@example.com`;
  const account = t.microsoft.addAccount({ email });
  const user = await t.api
    .post('/api/v1/users')
    .send({
      ...(options.id ? { id: options.id } : {}),
      email,
      name: `Outlook host ${counter}`,
      timeZone: options.timeZone ?? 'Europe/Berlin',
    })
    .expect(201);
  const credential = await t.api
    .post(`/api/v1/users/${user.body.id}/credentials`)
    .send({
      provider: 'office365_calendar',
      accessToken: account.accessToken,
      refreshToken: account.refreshToken,
      expiresAt: new Date(Date.now() + 3600_000).toISOString(),
    })
    .expect(201);
  const calendars = await t.api.get(`/api/v1/users/${user.body.id}/credentials/${credential.body.id}/calendars`).expect(200);
  const calendarId = (calendars.body as Array<{ id: string; primary: boolean }>).find((c) => c.primary)?.id;
  if (!calendarId) throw new Error('the Outlook account has no default calendar');
  if (options.destination !== false) {
    await t.api
      .put(`/api/v1/users/${user.body.id}/destination-calendar`)
      .send({ credentialId: credential.body.id, externalId: calendarId })
      .expect(200);
  }
  return { userId: user.body.id, email, credentialId: credential.body.id, calendarId, refreshToken: account.refreshToken };
}

/** An instant as Graph's `{dateTime, timeZone}` (what the user's Outlook writes), in UTC. */
export function graphDateTime(iso: string): { dateTime: string; timeZone: string } {
  return { dateTime: iso.replace(/Z$/, ''), timeZone: 'UTC' };
}

/** `start`/`end` of a Graph event patch for the instants `start` and `end`. */
export function graphTimes(
  start: string,
  end: string,
): { start: { dateTime: string; timeZone: string }; end: { dateTime: string; timeZone: string } } {
  return { start: graphDateTime(start), end: graphDateTime(end) };
}

/** An instant the Graph emulator reports (UTC wall-clock `dateTime`, seven fraction digits) as an ISO string. */
export const graphInstant = (dateTime: string) => new Date(`${dateTime.slice(0, 23)}Z`).toISOString();
