import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError, EmulatorError } from './errors.js';
import type { GoogleFaults } from './faults.js';
import { type Reply, readJson, writeReply } from './http-util.js';
import type { GoogleCalendarEmulator } from './google-calendar.emulator.js';
import type { EmulatorSnapshot } from './snapshot.js';
import type { EventInput, GoogleEvent, PushState } from './types.js';

/**
 * /__emulator/*: the programmatic API over HTTP, for a sandbox driven by hand or a demo script in another
 * process. JSON in and out, no auth, not logged as API calls. Every route calls the public method of the
 * same name, so both paths behave alike.
 */

export const CONTROL_PREFIX = '/__emulator';

/** One line per control route, for the index at `GET /` and `GET /__emulator`. */
const ROUTES = [
  'GET    /__emulator                                  this index',
  'GET    /__emulator/calendars                        every calendar: {items: [{id, ownerEmail, summary, timeZone, primary}]}',
  'GET    /__emulator/calendars/:cal/events            stored events: {items} (?includeDeleted=true for tombstones)',
  'POST   /__emulator/calendars/:cal/events            create an event as its owner would in Google {summary, start, end, ...}',
  'GET    /__emulator/calendars/:cal/events/:id        one event',
  'PATCH  /__emulator/calendars/:cal/events/:id        edit it as its owner would: new {start, end} moves it; summary, attendees, ...',
  'DELETE /__emulator/calendars/:cal/events/:id        delete it (204); a cancelled tombstone stays for sync',
  'POST   /__emulator/calendars/:cal/events/:id/move   move it to another calendar {destination}',
  'POST   /__emulator/calendars/:cal/seed              bulk insert without pushes {events}',
  'GET    /__emulator/calendars/:cal/freebusy          busy intervals ?timeMin=&timeMax= (with offsets)',
  'POST   /__emulator/accounts                         add an account {email, refreshToken?, accessToken?, timeZone?}',
  'POST   /__emulator/calendars                        add a calendar {email, id?, summary, timeZone?}',
  'POST   /__emulator/tokens/revoke | tokens/expire    revoke a refresh token {refreshToken} | expire every access token',
  'GET    /__emulator/channels                         watch channels with their message numbers',
  'POST   /__emulator/channels/:id/expire | /push      expire a channel | send it one push now {state?, token?, headers?}',
  'POST   /__emulator/faults                           misbehave: {kind: failNext|slowNext|dropNextPushes|holdPushes|..., ...args}',
  'GET    /__emulator/calls | push-log                 API calls (?operation=&calendarId=) | pushes sent; DELETE calls clears',
  'GET    /__emulator/snapshot | POST                  the whole state as JSON | replace the state with one',
  'POST   /__emulator/reset                            forget everything',
];

/** What `GET /` and `GET /__emulator` answer: where the API is, the calendars, and the control routes. */
export function controlIndex(emu: GoogleCalendarEmulator): Reply {
  const body = {
    emulator: 'Google Calendar API v3 emulator (calsync)',
    url: emu.url,
    tokenUrl: emu.tokenUrl,
    authorizeUrl: emu.authorizeUrl,
    stateFile: emu.stateFile ?? null,
    calendars: emu.listCalendars().map((c) => `${c.id} (${c.primary ? 'primary calendar' : c.summary} of ${c.ownerEmail})`),
    controlRoutes: ROUTES,
    notes: [
      'JSON in and out, no auth. :cal is a calendar id (percent-encode @ as %40 if your client needs it).',
      'Edits made here push to watch channels, exactly like a user editing in Google Calendar.',
    ],
    example: `curl -X PATCH '${emu.url}__emulator/calendars/<cal>/events/<id>' -H 'Content-Type: application/json' -d '{"start":{"dateTime":"2030-01-07T12:00:00Z"},"end":{"dateTime":"2030-01-07T12:30:00Z"}}'`,
  };
  // Indented: this is read by people, with curl.
  return {
    status: 200,
    body: `${JSON.stringify(body, null, 2)}\n`,
    headers: { 'Content-Type': 'application/json; charset=UTF-8' },
  };
}

export async function handleControl(
  emu: GoogleCalendarEmulator,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): Promise<void> {
  let reply: Reply;
  try {
    const method = req.method ?? 'GET';
    const body = method === 'GET' || method === 'DELETE' ? {} : await readJson(req);
    const seg = url.pathname
      .slice(CONTROL_PREFIX.length)
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
  emu: GoogleCalendarEmulator,
  method: string,
  seg: string[],
  body: Record<string, unknown>,
  search: URLSearchParams,
): Promise<Reply> {
  const key = `${method} ${seg.map((s, i) => (isParam(seg, i) ? ':' : s)).join('/')}`;
  switch (key) {
    case 'GET ':
      return controlIndex(emu);
    case 'GET calendars':
      return ok({ items: emu.listCalendars() });
    case 'GET snapshot':
      return ok(emu.snapshot());
    case 'POST snapshot':
      emu.restore(body as unknown as EmulatorSnapshot);
      return ok({ restored: true });
    case 'POST reset':
      emu.reset();
      return ok({ reset: true });
    case 'POST accounts':
      return ok(emu.addAccount(body as Parameters<GoogleCalendarEmulator['addAccount']>[0]));
    case 'POST calendars': {
      const { email, ...input } = body as { email: string } & Parameters<GoogleCalendarEmulator['addCalendar']>[1];
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
      return ok(emu.createEvent(seg[1], body as EventInput));
    case 'POST calendars/:/seed': {
      const events = body.events as EventInput[];
      if (!Array.isArray(events)) throw new EmulatorError(400, 'body.events must be an array');
      emu.seedEvents(seg[1], events);
      return ok({ seeded: events.length });
    }
    case 'GET calendars/:/freebusy':
      return ok({ busy: emu.freeBusy(seg[1], search.get('timeMin') ?? '', search.get('timeMax') ?? '') });
    case 'GET calendars/:/events/:': {
      const ev = emu.getEvent(seg[1], seg[3]);
      if (!ev) throw new EmulatorError(404, `no event ${seg[3]} in ${seg[1]}`);
      return ok(ev);
    }
    case 'PATCH calendars/:/events/:':
      return ok(emu.updateEvent(seg[1], seg[3], body as Partial<GoogleEvent>));
    case 'DELETE calendars/:/events/:':
      emu.deleteEvent(seg[1], seg[3]);
      return { status: 204 };
    case 'POST calendars/:/events/:/move':
      return ok(emu.moveEvent(seg[1], seg[3], String(body.destination)));
    case 'GET channels':
      return ok({ items: emu.channels() });
    case 'POST channels/:/expire':
      emu.expireChannel(seg[1]);
      return ok({ expired: true });
    case 'POST channels/:/push': {
      const status = await emu.sendPush(seg[1], body.state as PushState | undefined, {
        token: body.token as string | undefined,
        headers: body.headers as Record<string, string> | undefined,
      });
      return ok({ status });
    }
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
    case 'GET push-log':
      return ok({ items: emu.pushLog });
    default:
      throw new EmulatorError(404, `no control route ${method} ${CONTROL_PREFIX}/${seg.join('/')}`);
  }
}

/** Event ids and calendar ids are parameters; everything else is a literal path word. */
function isParam(seg: string[], i: number): boolean {
  return (seg[0] === 'calendars' && (i === 1 || (i === 3 && seg[2] === 'events'))) || (seg[0] === 'channels' && i === 1);
}

async function applyFault(faults: GoogleFaults, body: Record<string, unknown>): Promise<void> {
  const { kind, ...args } = body;
  const num = (k: string): number => Number(args[k]);
  switch (kind) {
    case 'failNext':
      return faults.failNext(args as Parameters<GoogleFaults['failNext']>[0]);
    case 'slowNext':
      return faults.slowNext(args as Parameters<GoogleFaults['slowNext']>[0]);
    case 'invalidateSyncTokens':
      return faults.invalidateSyncTokens(String(args.calendarId));
    case 'dropNextPushes':
      return faults.dropNextPushes(num('count'), args.channelId as string | undefined);
    case 'duplicateNextPushes':
      return faults.duplicateNextPushes(num('count'), num('copies'));
    case 'delayPushes':
      return faults.delayPushes(num('ms'));
    case 'holdPushes':
      return faults.holdPushes();
    case 'releasePushes':
      return faults.releasePushes({ reverse: args.reverse === true });
    case 'skipMessageNumbers':
      return faults.skipMessageNumbers(num('n'));
    case 'syncBeforeWatchResponse':
      return faults.syncBeforeWatchResponse(args.on !== false);
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
  if (err instanceof ApiError) return { status: err.status, body: { error: err.message, reason: err.reason } };
  return { status: 400, body: { error: err instanceof Error ? err.message : String(err) } };
}
