import type { IncomingMessage, ServerResponse } from 'node:http';
import { EmulatorError, GraphApiError } from './errors.js';
import type { DeltaExpiry } from './errors.js';
import type { MicrosoftFaults } from './faults.js';
import { type Reply, readJson, writeReply } from './http-util.js';
import type { MicrosoftGraphEmulator } from './microsoft-graph.emulator.js';
import type { EmulatorSnapshot } from './snapshot.js';
import type { EventInput, EventPatch, LifecycleEvent } from './types.js';

/**
 * /__emulator/*: the programmatic API over HTTP, for a sandbox driven by hand (curl) or a demo script in
 * another process. JSON in and out, no auth, not logged as API calls. Every route calls the public method of
 * the same name, so both paths behave alike. `GET /` and `GET /__emulator` answer an index of these routes.
 */

export const CONTROL_PREFIX = '/__emulator';

const ROUTES = [
  'GET    /__emulator                               this index, and the URLs to configure',
  'GET    /__emulator/ca.pem                        the CA certificate to trust (NODE_EXTRA_CA_CERTS, curl --cacert)',
  'GET    /__emulator/state                         snapshot of the whole state;  PUT it back to restore',
  'POST   /__emulator/reset',
  'GET    /__emulator/accounts                      POST {email, refreshToken?, accessToken?, timeZone?} adds one',
  'GET    /__emulator/calendars?email=              POST {email, id?, name} adds one',
  'POST   /__emulator/tokens/revoke {refreshToken}  POST /__emulator/tokens/expire',
  'GET    /__emulator/calendars/:cal/events?includeDeleted=true   POST creates one (the user edits in Outlook)',
  'POST   /__emulator/calendars/:cal/seed {events}  bulk insert without notifications',
  'GET    /__emulator/calendars/:cal/view?start=&end=             occurrences expanded',
  'GET|PATCH|DELETE /__emulator/events/:id          POST /__emulator/events/:id/move {destination}',
  'GET    /__emulator/subscriptions                 POST /__emulator/subscriptions/:id/expire',
  'POST   /__emulator/subscriptions/:id/lifecycle {event: reauthorizationRequired|subscriptionRemoved|missed}',
  "POST   /__emulator/faults {kind: 'failNext'|'slowNext'|'invalidateDeltaTokens'|'dropNextNotifications'|'duplicateNextNotifications'|'delayNotifications'|'holdNotifications'|'releaseNotifications'|'shuffleDelta'|'hideChangesOutsideWindow'|'replayTransactionsAsTheyAre'|'keepDeletedTransactionIds'|'limitGrantedScopes'|'clear', ...}",
  'GET    /__emulator/calls?operation=&calendarId=  DELETE clears',
  'GET    /__emulator/notification-log              DELETE clears',
];

export async function handleControl(
  emu: MicrosoftGraphEmulator,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): Promise<void> {
  let reply: Reply;
  try {
    const method = req.method ?? 'GET';
    const body = method === 'GET' || method === 'DELETE' ? {} : await readJson(req);
    const path = url.pathname === '/' ? '' : url.pathname.slice(CONTROL_PREFIX.length);
    const seg = path
      .split('/')
      .filter((s) => s !== '')
      .map(decodeURIComponent);
    reply = await route(emu, method, seg, body, url.searchParams);
  } catch (err) {
    reply = controlError(err);
  }
  writeReply(res, reply);
}

async function route(
  emu: MicrosoftGraphEmulator,
  method: string,
  seg: string[],
  body: Record<string, unknown>,
  search: URLSearchParams,
): Promise<Reply> {
  const key = `${method} ${seg.map((s, i) => (isParam(seg, i) ? ':' : s)).join('/')}`;
  switch (key) {
    case 'GET ':
      return ok({
        emulator: 'Microsoft Graph v1.0 + identity platform (calsync)',
        url: emu.url,
        graphUrl: emu.graphUrl,
        tokenUrl: emu.tokenUrl,
        authorizeUrl: emu.authorizeUrl,
        tenantId: emu.tenantId,
        caCertificate: `${emu.url}${CONTROL_PREFIX}/ca.pem`,
        routes: ROUTES,
      });
    case 'GET ca.pem':
      return { status: 200, body: emu.caCertificate, headers: { 'Content-Type': 'application/x-pem-file' } };
    case 'GET state':
      return ok(emu.snapshot());
    case 'PUT state':
      emu.restore(body as unknown as EmulatorSnapshot);
      return ok({ restored: true });
    case 'POST reset':
      emu.reset();
      return ok({ reset: true });
    case 'GET accounts':
      return ok({ items: emu.accounts() });
    case 'POST accounts':
      return ok(emu.addAccount(body as Parameters<MicrosoftGraphEmulator['addAccount']>[0]));
    case 'GET calendars':
      return ok({ items: emu.calendars(search.get('email') ?? undefined) });
    case 'POST calendars': {
      const { email, ...input } = body as { email: string } & Parameters<MicrosoftGraphEmulator['addCalendar']>[1];
      return ok(emu.addCalendar(email, input));
    }
    case 'POST tokens/revoke':
      emu.revokeRefreshToken(String(body.refreshToken));
      return ok({ revoked: true });
    case 'POST tokens/expire':
      emu.expireAccessTokens();
      return ok({ expired: true });
    case 'GET calendars/:/events':
      return ok({ items: emu.listEvents(seg[1], { includeDeleted: search.get('includeDeleted') === 'true' }) });
    case 'POST calendars/:/events':
      return ok(emu.createEvent(seg[1], body as unknown as EventInput));
    case 'POST calendars/:/seed': {
      const events = body.events as EventInput[];
      if (!Array.isArray(events)) throw new EmulatorError(400, 'body.events must be an array');
      emu.seedEvents(seg[1], events);
      return ok({ seeded: events.length });
    }
    case 'GET calendars/:/view':
      return ok({ items: emu.calendarView(seg[1], search.get('start') ?? '', search.get('end') ?? '') });
    case 'GET events/:': {
      const ev = emu.getEvent(seg[1]);
      if (!ev) throw new EmulatorError(404, `no event ${seg[1]}`);
      return ok(ev);
    }
    case 'PATCH events/:':
      return ok(emu.updateEvent(seg[1], body as EventPatch));
    case 'DELETE events/:':
      emu.deleteEvent(seg[1]);
      return { status: 204 };
    case 'POST events/:/move':
      return ok(emu.moveEvent(seg[1], String(body.destination)));
    case 'GET subscriptions':
      return ok({ items: emu.subscriptions() });
    case 'POST subscriptions/:/expire':
      emu.expireSubscription(seg[1]);
      return ok({ expired: true });
    case 'POST subscriptions/:/lifecycle':
      return ok({ status: await emu.sendLifecycle(seg[1], body.event as LifecycleEvent) });
    case 'POST faults':
      await applyFault(emu.faults, body);
      return ok({ applied: body.kind });
    case 'GET calls': {
      const operation = search.get('operation') ?? undefined;
      const calendarId = search.get('calendarId') ?? undefined;
      const items = emu.calls.filter(
        (c) =>
          (operation === undefined || c.operation === operation) && (calendarId === undefined || c.calendarId === calendarId),
      );
      return ok({ count: items.length, items });
    }
    case 'DELETE calls':
      emu.resetCalls();
      return { status: 204 };
    case 'GET notification-log':
      return ok({ items: emu.notificationLog });
    case 'DELETE notification-log':
      emu.resetNotificationLog();
      return { status: 204 };
    default:
      throw new EmulatorError(
        404,
        `no control route ${method} ${CONTROL_PREFIX}/${seg.join('/')} (GET ${CONTROL_PREFIX} lists them)`,
      );
  }
}

/** Calendar, event and subscription ids are parameters; everything else is a literal path word. */
function isParam(seg: string[], i: number): boolean {
  return i === 1 && (seg[0] === 'calendars' || seg[0] === 'events' || seg[0] === 'subscriptions') && seg.length > 1;
}

async function applyFault(faults: MicrosoftFaults, body: Record<string, unknown>): Promise<void> {
  const { kind, ...args } = body;
  const num = (k: string): number => Number(args[k]);
  switch (kind) {
    case 'failNext':
      return faults.failNext(args as Parameters<MicrosoftFaults['failNext']>[0]);
    case 'slowNext':
      return faults.slowNext(args as Parameters<MicrosoftFaults['slowNext']>[0]);
    case 'invalidateDeltaTokens':
      return faults.invalidateDeltaTokens(args.calendarId as string | undefined, args.as as DeltaExpiry | undefined);
    case 'dropNextNotifications':
      return faults.dropNextNotifications(num('n'), args.subscriptionId as string | undefined);
    case 'duplicateNextNotifications':
      return faults.duplicateNextNotifications(num('n'), num('copies'));
    case 'delayNotifications':
      return faults.delayNotifications(num('ms'));
    case 'holdNotifications':
      return faults.holdNotifications();
    case 'releaseNotifications':
      return faults.releaseNotifications(args.reverse === true);
    case 'shuffleDelta':
      return faults.shuffleDelta(args.on !== false);
    case 'hideChangesOutsideWindow':
      return faults.hideChangesOutsideWindow(args.on !== false);
    case 'replayTransactionsAsTheyAre':
      return faults.replayTransactionsAsTheyAre(args.on !== false);
    case 'keepDeletedTransactionIds':
      return faults.keepDeletedTransactionIds(args.on !== false);
    case 'limitGrantedScopes':
      return faults.limitGrantedScopes(args.scopes as string[] | undefined);
    case 'clear':
      return faults.clear();
    default:
      throw new EmulatorError(400, `unknown fault kind: ${String(kind)}`);
  }
}

function ok(body: unknown): Reply {
  return { status: 200, body };
}

function controlError(err: unknown): Reply {
  if (err instanceof EmulatorError) return { status: err.status, body: { error: err.message } };
  if (err instanceof GraphApiError) return { status: err.status, body: { error: err.message, code: err.code } };
  return { status: 400, body: { error: err instanceof Error ? err.message : String(err) } };
}
