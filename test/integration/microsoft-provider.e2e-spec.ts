import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { MicrosoftGraphEmulator } from '../../emulators/microsoft/microsoft-graph.emulator.js';
import { MetricsService } from '../../src/infrastructure/metrics/metrics.service.js';
import type { CreateEventInput, ExternalEvent, WatchInput } from '../../src/modules/providers/external-event.js';
import type { ProviderAuth, ProviderTokens } from '../../src/modules/providers/provider-auth.js';
import { isProviderError } from '../../src/modules/providers/provider.errors.js';
import type { IncomingWebhook, WebhookItem } from '../../src/modules/providers/webhook.js';
import { MicrosoftCalendarProvider } from '../../src/modules/providers/microsoft/microsoft-calendar.provider.js';
import { secretFingerprint } from '../../src/modules/providers/webhook-secrets.js';
import { expectEventually } from '../support/expect-eventually.js';
import { microsoftProviderConfig } from '../support/provider-configs.js';

const CLIENT_STATE = 'e2e-graph-client-state';
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** A loopback receiver for Graph's pushes that answers through the adapter's `parseWebhook`, as the intake would. */
async function startReceiver(provider: () => MicrosoftCalendarProvider) {
  const items: Array<WebhookItem & { route: string }> = [];
  const handshakes: string[] = [];
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const url = new URL(request.url ?? '/', 'http://receiver');
      const route = url.pathname.endsWith('/lifecycle') ? 'lifecycle' : 'notifications';
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      try {
        body = text && String(request.headers['content-type']).includes('json') ? JSON.parse(text) : undefined;
      } catch {
        body = undefined;
      }
      // Decoded once, as the HTTP layer (fastify) hands the query over.
      const incoming: IncomingWebhook = { route, headers: request.headers, query: Object.fromEntries(url.searchParams), body };
      const parsed = provider().parseWebhook(incoming);
      if (parsed.type === 'handshake') {
        handshakes.push(parsed.body);
        response.writeHead(parsed.status, { 'content-type': parsed.contentType }).end(parsed.body);
      } else if (parsed.type === 'notifications') {
        items.push(...parsed.items.map((item) => ({ ...item, route })));
        response.writeHead(parsed.acceptedStatus).end();
      } else {
        response.writeHead(400, { 'content-type': 'text/plain' }).end(parsed.message);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/webhooks/calendar-subscription/office365_calendar`;
  return {
    base,
    items,
    handshakes,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A ProviderAuth like the connections module builds, recording what the adapter reports. */
function authFor(tokens: ProviderTokens, credentialId: number) {
  const refreshed: ProviderTokens[] = [];
  const revoked: string[] = [];
  const auth: ProviderAuth = {
    credentialId,
    tokens: { ...tokens },
    onTokensRefreshed: async (next) => {
      refreshed.push(next);
    },
    onGrantRevoked: async (reason) => {
      revoked.push(reason);
    },
  };
  return { auth, refreshed, revoked };
}

const rejection = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );

describe('MicrosoftCalendarProvider against the Graph emulator (real Graph client)', () => {
  let emu: MicrosoftGraphEmulator;
  let provider: MicrosoftCalendarProvider;
  let metrics: MetricsService;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let credentialIds = 100;

  beforeAll(async () => {
    emu = await MicrosoftGraphEmulator.start();
    receiver = await startReceiver(() => provider);
    metrics = new MetricsService();
    provider = new MicrosoftCalendarProvider(microsoftProviderConfig(emu, receiver.base, CLIENT_STATE), metrics);
  });
  afterAll(async () => {
    provider.onModuleDestroy();
    await receiver.close();
    await emu.stop();
  });
  afterEach(() => emu.faults.clear());

  /** A fresh account whose tokens are valid for an hour. */
  function newAccount(email: string) {
    const account = emu.addAccount({ email });
    const { auth, refreshed, revoked } = authFor(
      { accessToken: account.accessToken, refreshToken: account.refreshToken, expiresAt: Date.now() + HOUR },
      credentialIds++,
    );
    return { ...account, auth, refreshed, revoked };
  }

  const booking = (key: string, overrides: Partial<CreateEventInput> = {}): CreateEventInput => ({
    title: 'Intro call',
    description: 'Agenda:\nintroductions',
    location: 'Online',
    start: new Date('2030-03-04T10:00:00.000Z'),
    end: new Date('2030-03-04T10:30:00.000Z'),
    attendees: [{ email: 'guest@example.com', name: 'Guest' }],
    timeZone: 'Europe/Paris',
    idempotencyKey: key,
    ...overrides,
  });

  it('lists calendars: the default one is primary, every one owned', async () => {
    const alice = newAccount('alice@example.com');
    const work = emu.addCalendar('alice@example.com', { name: 'Work' });
    const calendars = await provider.listCalendars(alice.auth);
    expect(calendars).toEqual(
      expect.arrayContaining([
        { id: alice.calendarId, name: 'Calendar', primary: true, timeZone: null, accessRole: 'owner' },
        { id: work.id, name: 'Work', primary: false, timeZone: null, accessRole: 'owner' },
      ]),
    );
    expect(calendars).toHaveLength(2);
  });

  it('creates once per idempotency key, and returns the first event to a retried create with a changed input, untouched', async () => {
    const bob = newAccount('bob@example.com');
    const first = await provider.createEvent(bob.auth, bob.calendarId, booking('key-1'));
    const again = await provider.createEvent(bob.auth, bob.calendarId, booking('key-1'));
    expect(again.id).toBe(first.id);
    expect(emu.listEvents(bob.calendarId)).toHaveLength(1);
    // Graph assigns the iCalUId; ours is not set.
    expect(first.iCalUID).toMatch(/^040000008200E000/);
    expect(first).toMatchObject({
      title: 'Intro call',
      description: 'Agenda:\nintroductions',
      location: 'Online',
      start: new Date('2030-03-04T10:00:00.000Z'),
      end: new Date('2030-03-04T10:30:00.000Z'),
      status: 'confirmed',
      busy: true,
      attendees: [expect.objectContaining({ email: 'guest@example.com', name: 'Guest', organizer: false, resource: false })],
    });
    const stored = emu.getEvent(first.id);
    expect(stored?.start).toEqual({ dateTime: '2030-03-04T10:00:00.0000000', timeZone: 'UTC' });

    // The booking moved before the create was retried: Outlook refuses the reused transactionId with
    // other content; the adapter finds the first event and returns it as it is, marked
    // `preexisting` (the host may have edited it since: the write job settles it by the later
    // intent), never a second event and never a blind overwrite.
    emu.resetCalls();
    const moved = await provider.createEvent(
      bob.auth,
      bob.calendarId,
      booking('key-1', { start: new Date('2030-03-05T09:00:00.000Z'), end: new Date('2030-03-05T09:45:00.000Z') }),
    );
    expect(moved.id).toBe(first.id);
    expect(moved).toMatchObject({ preexisting: true, start: new Date('2030-03-04T10:00:00.000Z') });
    expect(emu.listEvents(bob.calendarId)).toHaveLength(1);
    expect(emu.calls.map((c) => [c.operation, c.status])).toEqual([
      ['events.create', 400],
      ['events.list', 200],
    ]);
  });

  it('a UTC correction that finds the event moved by the host since is the host’s change: precondition_failed, and the host’s times stay', async () => {
    const rita = newAccount('rita@example.com');
    const input = booking('key-rita', { timeZone: 'Europe/Lisbon' });
    const created = await provider.createEvent(rita.auth, rita.calendarId, input);
    expect(emu.getEvent(created.id)?.originalStartTimeZone).toBe('GMT Standard Time');
    // From here on this Exchange reads Lisbon's Windows zone with Paris' rules (an hour ahead).
    emu.exchangeZoneRules('GMT Standard Time', 'Europe/Paris');
    try {
      emu.resetCalls();
      // The reschedule's PATCH goes through; its correction meets a 412, and the look that follows
      // answers after the host moved the event.
      emu.faults.failNext({ operation: 'events.update', status: 412, skip: 1 });
      emu.faults.slowNext({ operation: 'events.get', ms: 400 });
      const update = rejection(
        provider.updateEvent(
          rita.auth,
          rita.calendarId,
          created.id,
          { ...input, start: new Date('2030-03-04T12:00:00.000Z'), end: new Date('2030-03-04T12:30:00.000Z') },
          { ifMatch: created.etag, guestsBefore: input.attendees },
        ),
      );
      // The host moves it once the correction's 412 is out (while the look is held up).
      await expectEventually(
        () => expect(emu.calls.some((c) => c.operation === 'events.update' && c.status === 412)).toBe(true),
        {
          intervalMs: 5,
        },
      );
      emu.updateEvent(created.id, {
        start: { dateTime: '2030-03-04T16:00:00', timeZone: 'UTC' },
        end: { dateTime: '2030-03-04T16:30:00', timeZone: 'UTC' },
      });
      const error = await update;
      expect(isProviderError(error, 'precondition_failed')).toBe(true);
      expect(emu.calls.filter((c) => c.operation === 'events.update').map((c) => c.status)).toEqual([200, 412]);
      expect(emu.getEvent(created.id)?.start.dateTime).toMatch(/^2030-03-04T16:00:00/);
    } finally {
      emu.exchangeZoneRules('GMT Standard Time', null);
    }
  });

  it('gets, updates, finds by iCalUID and deletes (twice)', async () => {
    const carol = newAccount('carol@example.com');
    const created = await provider.createEvent(carol.auth, carol.calendarId, booking('key-2'));
    expect(await provider.getEvent(carol.auth, carol.calendarId, created.id)).toMatchObject({
      id: created.id,
      etag: created.etag,
    });

    const updated = await provider.updateEvent(carol.auth, carol.calendarId, created.id, {
      ...booking('key-2'),
      title: 'Intro call (moved)',
      start: new Date('2030-03-04T14:00:00.000Z'),
      end: new Date('2030-03-04T15:00:00.000Z'),
    });
    expect(updated).toMatchObject({ id: created.id, title: 'Intro call (moved)', start: new Date('2030-03-04T14:00:00.000Z') });
    expect(updated.etag).not.toBe(created.etag);
    expect(Date.parse(updated.updated ?? '')).toBeGreaterThan(Date.parse(created.updated ?? ''));

    const found = await provider.findByICalUID(carol.auth, carol.calendarId, created.iCalUID ?? '');
    expect(found.map((e) => e.id)).toEqual([created.id]);
    expect(await provider.findByICalUID(carol.auth, carol.calendarId, "no-such-uid-with-'quote'")).toEqual([]);

    // The organizer cancelled the meeting in Outlook: a get says cancelled, not gone.
    emu.updateEvent(created.id, { isCancelled: true });
    expect(await provider.getEvent(carol.auth, carol.calendarId, created.id)).toMatchObject({
      status: 'cancelled',
      busy: false,
      removal: null,
    });
    expect(await provider.findByICalUID(carol.auth, carol.calendarId, created.iCalUID ?? '')).toEqual([]);

    await provider.deleteEvent(carol.auth, carol.calendarId, created.id);
    expect(await provider.getEvent(carol.auth, carol.calendarId, created.id)).toBeNull();
    await expect(provider.deleteEvent(carol.auth, carol.calendarId, created.id)).resolves.toBeUndefined();
  });

  it('lists a window over several delta pages, then only the changes, and says when the cursor expired', async () => {
    const dave = newAccount('dave@example.com');
    const window = { start: new Date('2030-06-01T00:00:00.000Z'), end: new Date('2030-06-30T00:00:00.000Z') };
    const seeded = 2100;
    emu.seedEvents(
      dave.calendarId,
      Array.from({ length: seeded }, (_, i) => {
        const start = new Date(window.start.getTime() + (i % 28) * DAY + (i % 10) * HOUR);
        return {
          subject: `Seeded ${i}`,
          start: { dateTime: start.toISOString().slice(0, 19), timeZone: 'UTC' },
          end: { dateTime: new Date(start.getTime() + 1800_000).toISOString().slice(0, 19), timeZone: 'UTC' },
        };
      }),
    );
    // A weekly series: its occurrences are listed, its master is not.
    emu.createEvent(dave.calendarId, {
      subject: 'Weekly',
      start: { dateTime: '2030-06-03T08:00:00', timeZone: 'UTC' },
      end: { dateTime: '2030-06-03T08:30:00', timeZone: 'UTC' },
      recurrence: {
        pattern: { type: 'weekly', interval: 1, daysOfWeek: ['monday'] },
        range: { type: 'numbered', startDate: '2030-06-03', numberOfOccurrences: 3 },
      },
    });

    const full = new Map<string, ExternalEvent>();
    let pageToken: string | null = null;
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await provider.listChanges(dave.auth, { calendarId: dave.calendarId, cursor: null, pageToken, window });
      pages++;
      for (const event of page.events) full.set(event.id, event);
      pageToken = page.nextPageToken;
      if (page.nextPageToken) expect(page.nextCursor).toBeNull();
      else cursor = page.nextCursor;
    } while (pageToken);
    expect(pages).toBeGreaterThanOrEqual(3);
    expect(full.size).toBe(seeded + 3);
    expect([...full.values()].filter((e) => e.title === 'Weekly').every((e) => e.recurringEventId !== null)).toBe(true);
    expect([...full.values()].every((e) => e.removal === null && e.start instanceof Date)).toBe(true);
    expect(cursor).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/v1\.0\//);

    // The user moves one event and deletes another in Outlook.
    const [moved, deleted] = emu.listEvents(dave.calendarId);
    emu.updateEvent(moved!.id, {
      start: { dateTime: '2030-06-20T15:00:00', timeZone: 'UTC' },
      end: { dateTime: '2030-06-20T16:00:00', timeZone: 'UTC' },
    });
    emu.deleteEvent(deleted!.id);
    const changes = await provider.listChanges(dave.auth, { calendarId: dave.calendarId, cursor, pageToken: null, window });
    expect(changes.nextPageToken).toBeNull();
    expect(changes.nextCursor).toMatch(/^https:\/\//);
    const byId = new Map(changes.events.map((e) => [e.id, e]));
    expect(byId.get(moved!.id)).toMatchObject({ status: 'confirmed', start: new Date('2030-06-20T15:00:00.000Z') });
    expect(byId.get(deleted!.id)).toMatchObject({ status: 'cancelled', removal: 'unknown', start: null });

    emu.faults.invalidateDeltaTokens(dave.calendarId);
    const expired = await rejection(
      provider.listChanges(dave.auth, { calendarId: dave.calendarId, cursor: changes.nextCursor, pageToken: null, window }),
    );
    expect(isProviderError(expired, 'cursor_expired')).toBe(true);

    // A fresh round works, and a 400 resyncRequired is an expired cursor too.
    const fresh = await provider.listChanges(dave.auth, { calendarId: dave.calendarId, cursor: null, pageToken: null, window });
    emu.faults.invalidateDeltaTokens(dave.calendarId, 'resyncRequired');
    const resync = await rejection(
      provider.listChanges(dave.auth, { calendarId: dave.calendarId, cursor: null, pageToken: fresh.nextPageToken, window }),
    );
    expect(isProviderError(resync, 'cursor_expired')).toBe(true);
  });

  it('answers busy time per calendar: busy only, merged and clipped', async () => {
    const erin = newAccount('erin@example.com');
    const at = (iso: string) => ({ dateTime: iso, timeZone: 'UTC' });
    emu.createEvent(erin.calendarId, { subject: 'a', start: at('2030-07-01T09:00:00'), end: at('2030-07-01T10:00:00') });
    emu.createEvent(erin.calendarId, { subject: 'b', start: at('2030-07-01T09:30:00'), end: at('2030-07-01T11:00:00') });
    emu.createEvent(erin.calendarId, {
      subject: 'free',
      start: at('2030-07-01T12:00:00'),
      end: at('2030-07-01T13:00:00'),
      showAs: 'free',
    });
    emu.createEvent(erin.calendarId, {
      subject: 'declined',
      start: at('2030-07-01T13:00:00'),
      end: at('2030-07-01T14:00:00'),
      responseStatus: { response: 'declined' },
    });
    emu.createEvent(erin.calendarId, {
      subject: 'cancelled',
      start: at('2030-07-01T14:00:00'),
      end: at('2030-07-01T15:00:00'),
      isCancelled: true,
    });
    emu.createEvent(erin.calendarId, { subject: 'late', start: at('2030-07-01T17:00:00'), end: at('2030-07-01T19:00:00') });
    const other = emu.addCalendar('erin@example.com', { name: 'Other' });
    emu.createEvent(other.id, { subject: 'elsewhere', start: at('2030-07-01T08:00:00'), end: at('2030-07-01T08:30:00') });

    const range = { start: new Date('2030-07-01T08:45:00Z'), end: new Date('2030-07-01T18:00:00Z'), timeZone: 'UTC' };
    const busy = await provider.busyTimes(erin.auth, [erin.calendarId, other.id], range);
    const iso = (list = busy.get(erin.calendarId)) => (list ?? []).map((b) => [b.start.toISOString(), b.end.toISOString()]);
    expect(iso()).toEqual([
      ['2030-07-01T09:00:00.000Z', '2030-07-01T11:00:00.000Z'],
      ['2030-07-01T17:00:00.000Z', '2030-07-01T18:00:00.000Z'],
    ]);
    expect(iso(busy.get(other.id))).toEqual([]);
  });

  it('lists a short window plainly (calendarView, occurrences expanded), starting no delta round', async () => {
    const iris = newAccount('iris@example.com');
    const at = (iso: string) => ({ dateTime: iso, timeZone: 'UTC' });
    const inside = emu.createEvent(iris.calendarId, {
      subject: 'in',
      start: at('2030-07-02T09:00:00'),
      end: at('2030-07-02T10:00:00'),
    });
    emu.createEvent(iris.calendarId, { subject: 'out', start: at('2030-07-03T09:00:00'), end: at('2030-07-03T10:00:00') });
    emu.resetCalls();
    const listed = await provider.eventsIn(iris.auth, iris.calendarId, {
      start: new Date('2030-07-02T08:00:00Z'),
      end: new Date('2030-07-02T12:00:00Z'),
    });
    expect(listed.map((e) => [e.id, e.start?.toISOString(), e.end?.toISOString(), e.busy])).toEqual([
      [inside.id, '2030-07-02T09:00:00.000Z', '2030-07-02T10:00:00.000Z', true],
    ]);
    expect(emu.calls.map((c) => c.operation)).toEqual(['calendarView']);
  });

  it('keeps at most four requests in flight for one mailbox, as Outlook allows (a fifth is throttled)', async () => {
    const gina = newAccount('gina@example.com');
    const calendars = [gina.calendarId];
    for (let i = 1; i < 9; i++) calendars.push(emu.addCalendar('gina@example.com', { name: `Room ${i}` }).id);
    for (const id of calendars) {
      emu.createEvent(id, {
        subject: 'busy',
        start: { dateTime: '2030-08-01T10:00:00', timeZone: 'UTC' },
        end: { dateTime: '2030-08-01T11:00:00', timeZone: 'UTC' },
      });
    }
    const throttledBefore = emu.concurrencyThrottled;
    // Each read answers 100 ms late, so nine reads sent at once would overlap.
    emu.faults.slowNext({ operation: 'calendarView', ms: 100, count: calendars.length });
    const range = { start: new Date('2030-08-01T00:00:00Z'), end: new Date('2030-08-02T00:00:00Z'), timeZone: 'UTC' };
    const busy = await provider.busyTimes(gina.auth, calendars, range);
    expect([...busy.values()].map((list) => list.length)).toEqual(calendars.map(() => 1));
    expect(emu.peakConcurrency('gina@example.com')).toBe(4);
    expect(emu.concurrencyThrottled).toBe(throttledBefore);
  });

  it('obeys Retry-After on a 429 and does not retry twice over', async () => {
    const frank = newAccount('frank@example.com');
    const created = await provider.createEvent(frank.auth, frank.calendarId, booking('key-3'));
    emu.resetCalls();
    emu.faults.failNext({ operation: 'events.get', status: 429, retryAfterSeconds: 1 });
    const started = Date.now();
    expect(await provider.getEvent(frank.auth, frank.calendarId, created.id)).toMatchObject({ id: created.id });
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(emu.callCount('events.get')).toBe(2);
    const counted = await metrics.providerCalls.get();
    expect(counted.values).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          labels: { provider: 'office365_calendar', method: 'events.get', result: 'rate_limited' },
          value: 1,
        }),
      ]),
    );

    // A Retry-After longer than the retry budget is left to the durable job.
    emu.faults.failNext({ operation: 'events.get', status: 503, retryAfterSeconds: 120 });
    const unavailable = await rejection(provider.getEvent(frank.auth, frank.calendarId, created.id));
    expect(unavailable).toMatchObject({ kind: 'transient', retryAfterMs: 120_000 });
  });

  it('refreshes an expired token first, and a rejected one after a 401, persisting each rotation', async () => {
    const grace = newAccount('grace@example.com');
    grace.auth.tokens.expiresAt = Date.now() - 1000;
    const before = grace.auth.tokens;
    await provider.listCalendars(grace.auth);
    expect(grace.refreshed).toHaveLength(1);
    expect(grace.auth.tokens).toEqual(grace.refreshed[0]);
    expect(grace.auth.tokens.refreshToken).not.toBe(before.refreshToken);
    expect(grace.auth.tokens.expiresAt).toBeGreaterThan(Date.now() + HOUR - 60_000);

    // Outlook rejects a token the adapter thought valid: one refresh, one repeat.
    emu.expireAccessTokens();
    emu.resetCalls();
    await provider.listCalendars(grace.auth);
    expect(grace.refreshed).toHaveLength(2);
    expect(emu.calls.map((c) => [c.operation, c.status])).toEqual([
      ['calendars.list', 401],
      ['token', 200],
      ['calendars.list', 200],
    ]);
  });

  it('refreshes once for concurrent calls of one credential', async () => {
    const heidi = newAccount('heidi@example.com');
    const expired = { ...heidi.auth.tokens, expiresAt: Date.now() - 1000 };
    const one = authFor(expired, heidi.auth.credentialId);
    const two = authFor(expired, heidi.auth.credentialId);
    emu.resetCalls();
    await Promise.all([provider.listCalendars(one.auth), provider.listCalendars(two.auth), provider.listCalendars(one.auth)]);
    expect(emu.callCount('token')).toBe(1);
    expect(one.refreshed.length + two.refreshed.length).toBe(1);
    expect(two.auth.tokens).toEqual(one.auth.tokens);
  });

  it('reports a revoked grant through onGrantRevoked and throws auth_revoked', async () => {
    const ivan = newAccount('ivan@example.com');
    emu.revokeRefreshToken(ivan.refreshToken);
    const error = await rejection(provider.listCalendars(ivan.auth));
    expect(isProviderError(error, 'auth_revoked')).toBe(true);
    expect(ivan.revoked).toEqual([expect.stringContaining('AADSTS70000')]);
    expect(ivan.refreshed).toEqual([]);
  });

  /** A watch of the test receiver's URLs, for three days. */
  const watchInput = (overrides: Partial<WatchInput> = {}): WatchInput => ({
    channelId: 'ignored-by-graph',
    address: receiver.base,
    lifecycleAddress: `${receiver.base}/lifecycle`,
    ttlSeconds: 3 * 24 * 3600,
    currentChannelId: null,
    recoverUnrecorded: false,
    ...overrides,
  });

  it('watches with a validated subscription, receives pushes, renews, reauthorizes and stops', async () => {
    const judy = newAccount('judy@example.com');
    const input = watchInput();
    const channel = await provider.watch(judy.auth, judy.calendarId, input);
    expect(channel).toMatchObject({ resourceId: null, kind: 'microsoft.graph.subscription' });
    expect(channel.resourceUri).toContain('/events');
    expect(Math.abs(channel.expiration.getTime() - (Date.now() + input.ttlSeconds * 1000))).toBeLessThan(60_000);
    expect(receiver.handshakes.length).toBeGreaterThanOrEqual(2); // both URLs validated
    expect(receiver.handshakes.every((token) => token.startsWith('Validation: Testing client application reachability'))).toBe(
      true,
    );
    const [subscription] = emu.subscriptions().filter((s) => s.id === channel.id);
    expect(subscription).toMatchObject({
      changeType: 'created,updated,deleted',
      notificationUrl: input.address,
      lifecycleNotificationUrl: input.lifecycleAddress,
      clientState: CLIENT_STATE,
      calendarIds: [judy.calendarId],
    });

    // The user adds an event in Outlook: a notification for this subscription, with our secret.
    emu.createEvent(judy.calendarId, {
      subject: 'Dentist',
      start: { dateTime: '2030-08-01T09:00:00', timeZone: 'UTC' },
      end: { dateTime: '2030-08-01T10:00:00', timeZone: 'UTC' },
    });
    await expectEventually(() =>
      expect(receiver.items).toContainEqual({
        channelId: channel.id,
        resourceId: null,
        secretValid: true,
        kind: 'changed',
        route: 'notifications',
      }),
    );

    // A longer lifetime than Outlook allows is capped, not refused.
    const renewed = await provider.renew(judy.auth, judy.calendarId, channel, { ...input, ttlSeconds: 30 * 24 * 3600 });
    expect(renewed.replaces).toBe(false);
    expect(renewed.channel.id).toBe(channel.id);
    expect(renewed.channel.expiration.getTime()).toBeGreaterThan(channel.expiration.getTime());
    expect(renewed.channel.expiration.getTime()).toBeLessThanOrEqual(Date.now() + 10_080 * 60_000);

    // Graph asks for reauthorization through the lifecycle URL.
    expect(await emu.sendLifecycle(channel.id, 'reauthorizationRequired')).toBe(202);
    expect(receiver.items).toContainEqual({
      channelId: channel.id,
      resourceId: null,
      secretValid: true,
      kind: 'reauthorize',
      route: 'lifecycle',
    });
    const reauthorized = await provider.reauthorize(judy.auth, judy.calendarId, renewed.channel, input);
    expect(reauthorized.channel.id).toBe(channel.id);
    expect(emu.subscriptions().find((s) => s.id === channel.id)?.needsReauthorization).toBe(false);

    await provider.stopWatch(judy.auth, reauthorized.channel);
    expect(emu.subscriptions().find((s) => s.id === channel.id)).toBeUndefined();
    await expect(provider.stopWatch(judy.auth, reauthorized.channel)).resolves.toBeUndefined();
    const gone = await rejection(provider.renew(judy.auth, judy.calendarId, reauthorized.channel, input));
    expect(isProviderError(gone, 'not_found')).toBe(true);
  });

  it('learns a shorter subscription lifetime from Graph’s refusal (a tenant on the older 4,230-minute limit) and keeps to it', async () => {
    // A Graph of its own, as a tenant that still enforces 4,230 minutes for events.
    const strict = await MicrosoftGraphEmulator.start({ maxSubscriptionMinutes: 4_230 });
    const strictProvider = new MicrosoftCalendarProvider(microsoftProviderConfig(strict, receiver.base, CLIENT_STATE), metrics);
    try {
      const ops = () => strict.calls.filter((c) => c.operation.startsWith('subscriptions.')).map((c) => [c.operation, c.status]);
      const account = strict.addAccount({ email: 'kim@example.com' });
      const { auth } = authFor(
        { accessToken: account.accessToken, refreshToken: account.refreshToken, expiresAt: Date.now() + HOUR },
        credentialIds++,
      );
      const week = watchInput({ ttlSeconds: 7 * 24 * 3600 });
      const limit = () => Date.now() + 4_230 * 60_000;

      // The week is refused once; the subscription is made within the limit, not left unmade.
      const channel = await strictProvider.watch(auth, account.calendarId, week);
      expect(ops()).toEqual([
        ['subscriptions.create', 400],
        ['subscriptions.create', 201],
      ]);
      expect(strict.subscriptions().map((s) => s.id)).toEqual([channel.id]);
      expect(channel.expiration.getTime()).toBeLessThanOrEqual(limit());
      expect(channel.expiration.getTime()).toBeGreaterThan(limit() - 30 * 60_000);

      // From then on every request asks within it: one renewal, one create, no refusal.
      strict.resetCalls();
      const renewed = await strictProvider.renew(auth, account.calendarId, channel, week);
      expect(renewed.channel.expiration.getTime()).toBeLessThanOrEqual(limit());
      const second = strict.addCalendar(account.email, { name: 'Second' });
      await strictProvider.watch(auth, second.id, week);
      expect(ops()).toEqual([
        ['subscriptions.update', 200],
        ['subscriptions.create', 201],
      ]);

      // A create of this mailbox whose answer is lost: the look judges the subscription's age by
      // the lifetime asked for this mailbox, so the one it made is found young and taken over
      // (judged by Outlook's 10,080 minutes it would look four days old, an orphan to delete).
      strict.resetCalls();
      const third = strict.addCalendar(account.email, { name: 'Third' });
      strict.faults.failNext({ operation: 'subscriptions.create', status: 503, afterEffect: true });
      const adopted = await strictProvider.watch(auth, third.id, { ...week, recordedAmong: async () => new Set<string>() });
      expect(
        strict
          .subscriptions()
          .filter((s) => (s.calendarIds ?? []).includes(third.id))
          .map((s) => s.id),
      ).toEqual([adopted.id]);
      expect(ops()).toEqual([
        ['subscriptions.create', 503],
        ['subscriptions.list', 200],
      ]);

      // Another mailbox learns its own limit (a refusal of its own), not this one's.
      strict.resetCalls();
      const other = strict.addAccount({ email: 'lee@example.com' });
      const otherAuth = authFor(
        { accessToken: other.accessToken, refreshToken: other.refreshToken, expiresAt: Date.now() + HOUR },
        credentialIds++,
      ).auth;
      await strictProvider.watch(otherAuth, other.calendarId, week);
      expect(ops()).toEqual([
        ['subscriptions.create', 400],
        ['subscriptions.create', 201],
      ]);

      // Any other 400 is not sent again.
      strict.resetCalls();
      strict.faults.failNext({
        operation: 'subscriptions.update',
        status: 400,
        code: 'InvalidRequest',
        message: 'Invalid notificationUrl.',
      });
      const refused = await rejection(strictProvider.renew(auth, account.calendarId, renewed.channel, week));
      expect(isProviderError(refused, 'bad_request')).toBe(true);
      expect(ops()).toEqual([['subscriptions.update', 400]]);
    } finally {
      strictProvider.onModuleDestroy();
      await strict.stop();
    }
  });

  describe('a subscription create whose answer is lost', () => {
    const liveFor = (calendarId: string) => emu.subscriptions().filter((s) => (s.calendarIds ?? []).includes(calendarId));
    const ops = () => emu.calls.filter((c) => c.operation.startsWith('subscriptions.')).map((c) => [c.operation, c.status]);

    it('is not sent again: the subscription it made is found and returned, and no second one is made', async () => {
      const lena = newAccount('lena@example.com');
      emu.resetCalls();
      emu.faults.failNext({ operation: 'subscriptions.create', status: 503, afterEffect: true });
      const channel = await provider.watch(lena.auth, lena.calendarId, watchInput());
      const live = liveFor(lena.calendarId);
      expect(live.map((s) => s.id)).toEqual([channel.id]);
      expect(ops()).toEqual([
        ['subscriptions.create', 503],
        ['subscriptions.list', 200],
      ]);
    });

    it('is sent again when the look finds none, and a failed look ends the attempt without a second create', async () => {
      const mona = newAccount('mona@example.com');
      emu.resetCalls();
      // A 503 before the work: nothing was made, so the create is retried.
      emu.faults.failNext({ operation: 'subscriptions.create', status: 503 });
      const channel = await provider.watch(mona.auth, mona.calendarId, watchInput());
      expect(liveFor(mona.calendarId).map((s) => s.id)).toEqual([channel.id]);
      expect(ops()).toEqual([
        ['subscriptions.create', 503],
        ['subscriptions.list', 200],
        ['subscriptions.create', 201],
      ]);

      // The work done, the answer lost, and the look refused: the error surfaces, one subscription exists.
      const nina = newAccount('nina@example.com');
      emu.resetCalls();
      emu.faults.failNext({ operation: 'subscriptions.create', status: 502, afterEffect: true });
      emu.faults.failNext({ operation: 'subscriptions.list', status: 403 });
      const error = await rejection(provider.watch(nina.auth, nina.calendarId, watchInput()));
      expect(isProviderError(error)).toBe(true);
      expect(liveFor(nina.calendarId)).toHaveLength(1);
      expect(ops()).toEqual([
        ['subscriptions.create', 502],
        ['subscriptions.list', 403],
      ]);

      // The next attempt, told an earlier one failed, looks first and takes that subscription over.
      emu.resetCalls();
      const recovered = await provider.watch(nina.auth, nina.calendarId, watchInput({ recoverUnrecorded: true }));
      expect(liveFor(nina.calendarId).map((s) => s.id)).toEqual([recovered.id]);
      expect(ops()).toEqual([['subscriptions.list', 200]]);
    });

    it('takes over the one that lives longest of those made in the last 10 minutes, deletes unrecorded ones older than 20, and leaves the rest', async () => {
      const pia = newAccount('pia@example.com');
      const day = 24 * 3600;
      // Creates whose answers were lost, made (by their expiry, for the same two-day lifetime)
      // 60, 45, 30, 15 and 5 minutes ago, and just now; the first is one calsync records elsewhere.
      const made = async (minutesAgo: number) =>
        (await provider.watch(pia.auth, pia.calendarId, watchInput({ ttlSeconds: 2 * day - minutesAgo * 60 }))).id;
      const [recordedElsewhere, old45, old30, middle15, recent5, newest] = [
        await made(60),
        await made(45),
        await made(30),
        await made(15),
        await made(5),
        await made(0),
      ];
      emu.resetCalls();
      const taken = await provider.watch(
        pia.auth,
        pia.calendarId,
        watchInput({
          ttlSeconds: 2 * day,
          recoverUnrecorded: true,
          recordedAmong: async (ids) => new Set(ids.filter((id) => id === recordedElsewhere)),
        }),
      );
      expect(taken.id).toBe(newest);
      const live = liveFor(pia.calendarId).map((s) => s.id);
      expect([...live].sort()).toEqual([recordedElsewhere, middle15, recent5, newest].sort());
      expect(live).not.toContain(old45);
      expect(live).not.toContain(old30);
      expect(ops()).toEqual([
        ['subscriptions.list', 200],
        ['subscriptions.delete', 204],
        ['subscriptions.delete', 204],
      ]);
    });

    it('never takes over one made more than 10 minutes ago (another operation may be deleting it): an old orphan is deleted and a new one made; without the store’s word on what is recorded, none is deleted', async () => {
      const quinn = newAccount('quinn@example.com');
      const day = 24 * 3600;
      const orphan = (await provider.watch(quinn.auth, quinn.calendarId, watchInput({ ttlSeconds: 2 * day - 25 * 60 }))).id;
      emu.resetCalls();
      const first = await provider.watch(
        quinn.auth,
        quinn.calendarId,
        watchInput({ ttlSeconds: 2 * day, recoverUnrecorded: true }),
      );
      expect(first.id).not.toBe(orphan);
      expect(ops()).toEqual([
        ['subscriptions.list', 200],
        ['subscriptions.create', 201],
      ]);
      emu.resetCalls();
      const second = await provider.watch(
        quinn.auth,
        quinn.calendarId,
        watchInput({
          ttlSeconds: 2 * day,
          currentChannelId: first.id,
          recoverUnrecorded: true,
          recordedAmong: async (ids) => new Set(ids.filter((id) => id === first.id)),
        }),
      );
      expect([orphan, first.id]).not.toContain(second.id);
      expect(
        liveFor(quinn.calendarId)
          .map((s) => s.id)
          .sort(),
      ).toEqual([first.id, second.id].sort());
      expect(ops()).toEqual([
        ['subscriptions.list', 200],
        ['subscriptions.delete', 204],
        ['subscriptions.create', 201],
      ]);
    });

    it('never takes over one made with a client state since rotated away, deletes it as an orphan once old enough, and marks what it makes or takes over with the current one', async () => {
      const rita = newAccount('rita@example.com');
      const day = 24 * 3600;
      const beforeRotation = new MicrosoftCalendarProvider(
        microsoftProviderConfig(emu, receiver.base, 'client-state-before-the-rotation'),
        metrics,
      );
      try {
        // Creates whose answers were lost before the rotation, made 5 and 25 minutes ago.
        const oldRecent = (await beforeRotation.watch(rita.auth, rita.calendarId, watchInput({ ttlSeconds: 2 * day - 5 * 60 })))
          .id;
        const oldOrphan = (await beforeRotation.watch(rita.auth, rita.calendarId, watchInput({ ttlSeconds: 2 * day - 25 * 60 })))
          .id;
        emu.resetCalls();
        const nothingRecorded = async () => new Set<string>();
        const made = await provider.watch(
          rita.auth,
          rita.calendarId,
          watchInput({ ttlSeconds: 2 * day, recoverUnrecorded: true, recordedAmong: nothingRecorded }),
        );
        expect([oldRecent, oldOrphan]).not.toContain(made.id);
        expect(made.secretFingerprint).toBe(secretFingerprint(CLIENT_STATE));
        expect(
          liveFor(rita.calendarId)
            .map((s) => s.id)
            .sort(),
        ).toEqual([oldRecent, made.id].sort());
        expect(ops()).toEqual([
          ['subscriptions.list', 200],
          ['subscriptions.delete', 204],
          ['subscriptions.create', 201],
        ]);

        // The one just made, were its answer lost, is taken over, and its secret is known.
        emu.resetCalls();
        const taken = await provider.watch(
          rita.auth,
          rita.calendarId,
          watchInput({ ttlSeconds: 2 * day, recoverUnrecorded: true, recordedAmong: nothingRecorded }),
        );
        expect(taken).toMatchObject({ id: made.id, secretFingerprint: secretFingerprint(CLIENT_STATE) });
        expect(ops()).toEqual([['subscriptions.list', 200]]);
      } finally {
        beforeRotation.onModuleDestroy();
      }
    });

    it('never takes over the channel calsync holds, nor one for other URLs', async () => {
      const olga = newAccount('olga@example.com');
      const held = await provider.watch(olga.auth, olga.calendarId, watchInput());
      emu.resetCalls();
      const next = await provider.watch(
        olga.auth,
        olga.calendarId,
        watchInput({ currentChannelId: held.id, recoverUnrecorded: true }),
      );
      expect(next.id).not.toBe(held.id);
      expect(ops()).toEqual([
        ['subscriptions.list', 200],
        ['subscriptions.create', 201],
      ]);
      // An unrecorded-looking subscription that calsync records elsewhere is not taken either.
      emu.resetCalls();
      const another = await provider.watch(
        olga.auth,
        olga.calendarId,
        watchInput({ currentChannelId: next.id, recoverUnrecorded: true, recordedAmong: async (ids) => new Set(ids) }),
      );
      expect([held.id, next.id]).not.toContain(another.id);
      expect(ops()).toEqual([
        ['subscriptions.list', 200],
        ['subscriptions.create', 201],
      ]);
      await provider.stopWatch(olga.auth, another);
      await provider.stopWatch(olga.auth, held);
      emu.resetCalls();
      const elsewhere = await provider.watch(
        olga.auth,
        olga.calendarId,
        watchInput({ address: `${receiver.base}/other`, recoverUnrecorded: true }),
      );
      expect(elsewhere.id).not.toBe(next.id);
      expect(ops()).toEqual([
        ['subscriptions.list', 200],
        ['subscriptions.create', 201],
      ]);
    });
  });

  it('exchanges an authorization code from the authorize URL for tokens with a refresh token', async () => {
    newAccount('kim@example.com');
    const redirectUri = 'http://127.0.0.1:1/callback';
    const authorize = provider.authorizeUrl(redirectUri, 'state-xyz', 'kim@example.com');
    const answer = await fetchNoRedirect(authorize, emu.caCertificate);
    const location = new URL(answer);
    expect(location.searchParams.get('state')).toBe('state-xyz');
    const tokens = await provider.exchangeCode(location.searchParams.get('code') ?? '', redirectUri);
    expect(tokens.refreshToken).toBeTruthy();
    expect(tokens.expiresAt).toBeGreaterThan(Date.now());
    const kim = authFor(tokens, credentialIds++);
    expect((await provider.listCalendars(kim.auth)).some((c) => c.primary)).toBe(true);
  });
});

/** GET over https trusting `ca`, returning the redirect Location (the emulator's authorize consents at once). */
async function fetchNoRedirect(url: string, ca: string): Promise<string> {
  const { default: https } = await import('node:https');
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca }, (response) => {
        response.resume();
        const location = response.headers.location;
        if (response.statusCode === 302 && location) resolve(location);
        else reject(new Error(`authorize answered ${response.statusCode}`));
      })
      .on('error', reject);
  });
}
