import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuthState } from './auth.js';
import { ApiError, badRequest, notFound, unauthorized } from './errors.js';
import type { CalendarState, EventStore } from './event-store.js';
import { listEvents, minimal, parseListQuery } from './event-query.js';
import type { FaultState } from './faults.js';
import { busyIntervals } from './freebusy.js';
import { type QueryMap, type Reply, parseQuery, readBody, writeReply } from './http-util.js';
import { parseFieldSelection, selectFields } from './partial-response.js';
import type { Channel, PushSender } from './push-sender.js';
import { parseInstant } from './time.js';
import type { CallRecord } from './types.js';

/** The Calendar v3 REST surface under /calendar/v3, as the googleapis client calls it. */

export interface ApiContext {
  readonly store: EventStore;
  readonly auth: AuthState;
  readonly push: PushSender;
  readonly faults: FaultState;
  readonly maxChannelTtlSeconds: number;
  readonly url: string;
  recordCall(call: CallRecord): void;
  sleep(ms: number): Promise<void>;
}

interface Request {
  method: string;
  query: QueryMap;
  headers: IncomingMessage['headers'];
  raw: Buffer;
  email: string;
}

interface Route {
  operation: string;
  /** Calendar id as written in the path ('primary' allowed). */
  calendarRef?: string;
  eventId?: string;
  run: (req: Request, cal: CalendarState | undefined) => Promise<Reply> | Reply;
}

const CHANNEL_ID = /^[A-Za-z0-9\-_+/=]{1,64}$/;
const DEFAULT_CHANNEL_TTL_SECONDS = 604_800;

export class CalendarApi {
  constructor(private readonly ctx: ApiContext) {}

  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const method = req.method ?? 'GET';
    const query = parseQuery(url.searchParams);
    const call: CallRecord = { at: Date.now(), method, path: url.pathname, query, status: 0, operation: 'unknown' };
    let reply: Reply;
    try {
      const raw = method === 'GET' || method === 'DELETE' ? Buffer.alloc(0) : await readBody(req);
      const route = this.route(method, url.pathname);
      if (!route) throw notFound();
      call.operation = route.operation;
      call.calendarId = route.calendarRef;
      const email = this.ctx.auth.authenticate(bearer(req, query));
      if (!email) throw unauthorized();
      const calendarId = route.calendarRef === 'primary' ? email : route.calendarRef;
      call.calendarId = calendarId;
      const delay = this.ctx.faults.takeSlow(route.operation);
      const failure = this.ctx.faults.takeFailure(route.operation);
      const wait = delay + (failure?.delayMs ?? 0);
      if (wait > 0) await this.ctx.sleep(wait);
      if (failure) throw failure.error;
      const fields = one(query, 'fields');
      const selection = fields ? parseFieldSelection(fields) : null;
      const cal = calendarId === undefined ? undefined : this.ownedCalendar(calendarId, email);
      reply = await route.run({ method, query, headers: req.headers, raw, email }, cal);
      if (selection && reply.status < 300 && typeof reply.body === 'object' && reply.body !== null) {
        reply = { ...reply, body: selectFields(reply.body, selection) };
      }
    } catch (err) {
      reply = errorReply(err);
    }
    call.status = reply.status;
    this.ctx.recordCall(call);
    writeReply(res, reply);
    reply.after?.();
  }

  private ownedCalendar(calendarId: string, email: string): CalendarState {
    const cal = this.ctx.store.calendars.get(calendarId);
    if (!cal || cal.ownerEmail !== email) throw notFound();
    return cal;
  }

  private route(method: string, pathname: string): Route | undefined {
    const prefix = '/calendar/v3/';
    if (!pathname.startsWith(prefix)) return undefined;
    let seg: string[];
    try {
      seg = pathname.slice(prefix.length).split('/').map(decodeURIComponent);
    } catch {
      return undefined;
    }
    if (seg[seg.length - 1] === '') seg.pop();
    const p = seg.join('/');
    if (p === 'users/me/calendarList' && method === 'GET')
      return { operation: 'calendarList.list', run: (r) => this.calendarList(r) };
    if (p === 'freeBusy' && method === 'POST') return { operation: 'freebusy.query', run: (r) => this.freeBusy(r) };
    if (p === 'channels/stop' && method === 'POST') return { operation: 'channels.stop', run: (r) => this.stopChannel(r) };
    if (seg.length === 4 && seg[0] === 'users' && seg[1] === 'me' && seg[2] === 'calendarList' && method === 'GET') {
      return { operation: 'calendarList.get', calendarRef: seg[3], run: (_r, c) => ok(this.listEntry(c!)) };
    }
    if (seg.length === 2 && seg[0] === 'calendars' && method === 'GET') {
      return { operation: 'calendars.get', calendarRef: seg[1], run: (_r, c) => ok(calendarResource(c!)) };
    }
    if (seg[0] !== 'calendars' || seg[2] !== 'events' || seg.length < 3 || seg.length > 5) return undefined;
    const calendarRef = seg[1];
    if (seg.length === 3) {
      if (method === 'GET') return { operation: 'events.list', calendarRef, run: (r, c) => this.list(r, c!) };
      if (method === 'POST') return { operation: 'events.insert', calendarRef, run: (r, c) => this.insert(r, c!) };
      return undefined;
    }
    const eventId = seg[3];
    if (seg.length === 5) {
      if (seg[4] === 'move' && method === 'POST') {
        return { operation: 'events.move', calendarRef, eventId, run: (r, c) => this.move(r, c!, eventId) };
      }
      if (seg[4] === 'instances' && method === 'GET') {
        return { operation: 'events.instances', calendarRef, eventId, run: (r, c) => this.instances(r, c!, eventId) };
      }
      return undefined;
    }
    if (eventId === 'watch' && method === 'POST')
      return { operation: 'events.watch', calendarRef, run: (r, c) => this.watch(r, c!) };
    switch (method) {
      case 'GET':
        return { operation: 'events.get', calendarRef, eventId, run: (r, c) => this.get(r, c!, eventId) };
      case 'PATCH':
        return { operation: 'events.patch', calendarRef, eventId, run: (r, c) => this.write(r, c!, eventId, false) };
      case 'PUT':
        return { operation: 'events.update', calendarRef, eventId, run: (r, c) => this.write(r, c!, eventId, true) };
      case 'DELETE':
        return { operation: 'events.delete', calendarRef, eventId, run: (r, c) => this.remove(r, c!, eventId) };
      default:
        return undefined;
    }
  }

  // ---- handlers ----------------------------------------------------------------------------------

  private calendarList(r: Request): Reply {
    const items = [];
    for (const cal of this.ctx.store.calendars.values()) {
      if (cal.ownerEmail === r.email) items.push(this.listEntry(cal));
    }
    return ok({ kind: 'calendar#calendarList', etag: `"${Date.now()}"`, items });
  }

  private listEntry(cal: CalendarState): Record<string, unknown> {
    const entry: Record<string, unknown> = {
      kind: 'calendar#calendarListEntry',
      etag: `"${cal.updatedMs}"`,
      id: cal.id,
      summary: cal.summary,
      timeZone: cal.timeZone,
      accessRole: 'owner',
      defaultReminders: [],
    };
    if (cal.primary) entry.primary = true;
    return entry;
  }

  private list(r: Request, cal: CalendarState): Reply {
    const page = listEvents(this.ctx.store, cal, parseListQuery(r.query));
    const body: Record<string, unknown> = {
      kind: 'calendar#events',
      etag: `"${cal.updatedMs}"`,
      summary: cal.summary,
      updated: new Date(cal.updatedMs).toISOString(),
      timeZone: cal.timeZone,
      accessRole: 'owner',
      defaultReminders: [],
    };
    if (page.nextPageToken) body.nextPageToken = page.nextPageToken;
    if (page.nextSyncToken) body.nextSyncToken = page.nextSyncToken;
    body.items = page.items;
    return ok(body);
  }

  /** events.instances: the occurrences of one series, paged by offset (series are small next to calendars). */
  private instances(r: Request, cal: CalendarState, eventId: string): Reply {
    const master = cal.events.get(eventId);
    if (!master?.series) throw notFound();
    const timeMin = one(r.query, 'timeMin');
    const timeMax = one(r.query, 'timeMax');
    const window = {
      fromMs: timeMin === undefined ? undefined : parseInstant(timeMin, 'timeMin'),
      toMs: timeMax === undefined ? undefined : parseInstant(timeMax, 'timeMax'),
    };
    const all = this.ctx.store.expandSeries(master, window, one(r.query, 'showDeleted') === 'true');
    const maxResults = Math.min(Number(one(r.query, 'maxResults') ?? 250) || 250, 2500);
    const pageToken = one(r.query, 'pageToken');
    const offset = pageToken === undefined ? 0 : Number(Buffer.from(pageToken, 'base64url').toString());
    if (!Number.isInteger(offset) || offset < 0) throw badRequest('Invalid pageToken.');
    const end = Math.min(all.length, offset + maxResults);
    const body: Record<string, unknown> = {
      kind: 'calendar#events',
      summary: cal.summary,
      updated: new Date(cal.updatedMs).toISOString(),
      timeZone: cal.timeZone,
      accessRole: 'owner',
      defaultReminders: [],
    };
    if (end < all.length) body.nextPageToken = Buffer.from(String(end)).toString('base64url');
    body.items = all.slice(offset, end).map((i) => (i.cancelled ? minimal(i.ev) : i.ev));
    return ok(body);
  }

  private get(r: Request, cal: CalendarState, eventId: string): Reply {
    const ev = this.ctx.store.find(cal, eventId);
    if (!ev) throw notFound();
    const inm = header(r, 'if-none-match');
    if (inm !== undefined && inm.split(',').some((t) => t.trim() === ev.etag)) return { status: 304, headers: { ETag: ev.etag } };
    return ok(ev, { ETag: ev.etag });
  }

  private insert(r: Request, cal: CalendarState): Reply {
    const rec = this.ctx.store.insert(cal, json(r), { creatorEmail: r.email });
    return ok(rec.ev, { ETag: rec.ev.etag });
  }

  private write(r: Request, cal: CalendarState, eventId: string, replace: boolean): Reply {
    const ev = this.ctx.store.update(cal, eventId, json(r), { replace, ifMatch: header(r, 'if-match') });
    return ok(ev, { ETag: ev.etag });
  }

  private remove(r: Request, cal: CalendarState, eventId: string): Reply {
    this.ctx.store.remove(cal, eventId, { ifMatch: header(r, 'if-match') });
    return { status: 204 };
  }

  private move(r: Request, cal: CalendarState, eventId: string): Reply {
    const destRef = one(r.query, 'destination');
    if (!destRef) throw new ApiError(400, 'required', 'Required parameter: destination');
    const dest = this.ownedCalendar(destRef === 'primary' ? r.email : destRef, r.email);
    const ev = this.ctx.store.move(cal, eventId, dest);
    return ok(ev, { ETag: ev.etag });
  }

  private freeBusy(r: Request): Reply {
    const body = json(r);
    if (typeof body.timeMin !== 'string') throw new ApiError(400, 'required', 'Missing timeMin.');
    if (typeof body.timeMax !== 'string') throw new ApiError(400, 'required', 'Missing timeMax.');
    const fromMs = parseInstant(body.timeMin, 'timeMin');
    const toMs = parseInstant(body.timeMax, 'timeMax');
    if (toMs <= fromMs) throw new ApiError(400, 'timeRangeEmpty', 'The specified time range is empty.');
    const items = Array.isArray(body.items) ? (body.items as Array<{ id?: unknown }>) : [];
    const calendars: Record<string, unknown> = {};
    for (const item of items) {
      if (!item || typeof item.id !== 'string') throw new ApiError(400, 'required', 'Missing calendar id in items.');
      const id = item.id === 'primary' ? r.email : item.id;
      const cal = this.ctx.store.calendars.get(id);
      calendars[item.id] =
        cal && cal.ownerEmail === r.email
          ? { busy: busyIntervals(this.ctx.store, cal, fromMs, toMs) }
          : { errors: [{ domain: 'global', reason: 'notFound' }], busy: [] };
    }
    return ok({
      kind: 'calendar#freeBusy',
      timeMin: new Date(fromMs).toISOString(),
      timeMax: new Date(toMs).toISOString(),
      calendars,
    });
  }

  private async watch(r: Request, cal: CalendarState): Promise<Reply> {
    const body = json(r);
    const { id, type, address, token } = body;
    if (typeof id !== 'string' || !CHANNEL_ID.test(id))
      throw badRequest('Channel id must be 1-64 characters of [A-Za-z0-9-_+/=].');
    if (type !== 'web_hook' && type !== 'webhook') throw badRequest(`Unknown channel type: ${String(type)}`);
    if (typeof address !== 'string') throw new ApiError(400, 'required', 'Missing channel address.');
    checkAddress(address);
    if (token !== undefined && (typeof token !== 'string' || token.length > 256))
      throw badRequest('Channel token must be a string of at most 256 characters.');
    const existing = this.ctx.push.channels.get(id);
    if (existing && this.ctx.push.isLive(existing)) throw badRequest(`Channel id ${id} not unique`, 'channelIdNotUnique');
    const params = (body.params ?? {}) as Record<string, unknown>;
    let ttl = DEFAULT_CHANNEL_TTL_SECONDS;
    if (params.ttl !== undefined) {
      ttl = Number(params.ttl);
      if (!Number.isFinite(ttl) || ttl <= 0) throw badRequest(`Invalid ttl: ${String(params.ttl)}`);
    }
    ttl = Math.min(ttl, this.ctx.maxChannelTtlSeconds);
    const resourceUri = `${this.ctx.url}calendar/v3/calendars/${encodeURIComponent(cal.id)}/events?alt=json`;
    const channel: Channel = {
      id,
      resourceId: cal.resourceId,
      resourceUri,
      calendarId: cal.id,
      address,
      token: typeof token === 'string' ? token : undefined,
      expiration: Date.now() + Math.round(ttl * 1000),
      stopped: false,
      messageNumber: 0,
    };
    this.ctx.push.channels.set(id, channel);
    const answer: Record<string, unknown> = {
      kind: 'api#channel',
      id,
      resourceId: channel.resourceId,
      resourceUri,
      expiration: String(channel.expiration),
    };
    if (channel.token !== undefined) answer.token = channel.token;
    if (this.ctx.faults.syncFirst) {
      await this.ctx.push.enqueue(channel, 'sync');
      return ok(answer);
    }
    return { ...ok(answer), after: () => void this.ctx.push.enqueue(channel, 'sync') };
  }

  private stopChannel(r: Request): Reply {
    const body = json(r);
    if (typeof body.id !== 'string') throw new ApiError(400, 'required', 'Missing channel id.');
    // Google's reference: the body must carry the channel's id and the resourceId it watches.
    if (typeof body.resourceId !== 'string') throw new ApiError(400, 'required', 'Missing resourceId.');
    const ch = this.ctx.push.channels.get(body.id);
    if (!ch || body.resourceId !== ch.resourceId) {
      throw notFound(`Channel '${body.id}' not found for project`);
    }
    if (this.ctx.store.calendars.get(ch.calendarId)?.ownerEmail !== r.email)
      throw notFound(`Channel '${body.id}' not found for project`);
    ch.stopped = true;
    return { status: 204 };
  }
}

function calendarResource(cal: CalendarState): Record<string, unknown> {
  return { kind: 'calendar#calendar', etag: `"${cal.updatedMs}"`, id: cal.id, summary: cal.summary, timeZone: cal.timeZone };
}

function ok(body: unknown, headers?: Record<string, string>): Reply {
  return { status: 200, body, headers };
}

export function errorReply(err: unknown): Reply {
  if (err instanceof ApiError) {
    const headers: Record<string, string> = {};
    if (err.retryAfterSeconds !== undefined) headers['Retry-After'] = String(err.retryAfterSeconds);
    if (err.status === 401) headers['WWW-Authenticate'] = 'Bearer realm="https://accounts.google.com/", error="invalid_token"';
    return { status: err.status, body: err.body(), headers };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { status: 500, body: new ApiError(500, 'backendError', `Emulator error: ${message}`).body() };
}

function bearer(req: IncomingMessage, query: QueryMap): string | undefined {
  const h = req.headers.authorization;
  if (h) {
    const m = /^Bearer\s+(.+)$/i.exec(h);
    return m ? m[1].trim() : undefined;
  }
  return one(query, 'access_token');
}

function header(r: Request, name: string): string | undefined {
  const v = r.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

function one(query: QueryMap, key: string): string | undefined {
  const v = query[key];
  return Array.isArray(v) ? v[0] : v;
}

function json(r: Request): Record<string, unknown> {
  if (r.raw.length === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(r.raw.toString('utf8'));
  } catch {
    throw badRequest('Parse Error', 'parseError');
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw badRequest('Parse Error', 'parseError');
  return parsed as Record<string, unknown>;
}

/** Only loopback receivers: the emulator must never send traffic off this machine. */
function checkAddress(address: string): void {
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    throw badRequest(`Invalid channel address: ${address}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw badRequest('WebHook callback must be HTTP(S).', 'push.webhookUrlNotHttps');
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!(host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host))) {
    throw new ApiError(
      400,
      'push.webhookUrlUnauthorized',
      `Unauthorized WebHook callback channel: ${address} (the emulator only pushes to loopback addresses)`,
    );
  }
}
