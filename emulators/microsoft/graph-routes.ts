import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Account, allows, type AuthState } from './auth.js';
import { accessDenied, badRequest, GraphApiError, itemNotFound, unauthenticated } from './errors.js';
import { type RenderContext, renderEvent } from './event-json.js';
import { deltaPage, listEvents, pageSize, parseEventsFilter, parsePrefer, type Prefer, skipValue } from './event-query.js';
import type { CalendarState, EventStore, StoredEvent, ViewItem } from './event-store.js';
import type { FaultState } from './faults.js';
import { GRAPH_JSON, header, parseJsonObject, parseQuery, queryParam, type Reply, readBody, writeReply } from './http-util.js';
import { newGuid } from './ids.js';
import { parseScheduleRequest, scheduleInformation } from './schedule.js';
import {
  isLive,
  newSubscriptionId,
  parseChangeTypes,
  parseClientState,
  parseExpiration,
  parseResource,
  type Subscription,
  subscriptionJson,
  validateEndpoint,
} from './subscriptions.js';
import { parseBoundary } from './time.js';
import type { CallRecord, NotificationLogEntry } from './types.js';
import { checkLoopback, type WebhookClient } from './webhook-client.js';

/** Outlook's limit of concurrent requests per app per mailbox (Microsoft Graph service limits). */
export const MAILBOX_CONCURRENCY = 4;

/** The Graph v1.0 surface under /v1.0 that calendar sync uses, as @microsoft/microsoft-graph-client calls it. */

export interface GraphContext {
  readonly store: EventStore;
  readonly auth: AuthState;
  readonly faults: FaultState;
  readonly subscriptions: Map<string, Subscription>;
  readonly webhooks: WebhookClient;
  /** https://127.0.0.1:PORT */
  readonly url: string;
  readonly maxSubscriptionMinutes: number;
  readonly validationTimeoutMs: number;
  recordCall(call: CallRecord): void;
  logNotification(entry: NotificationLogEntry): void;
  sleep(ms: number): Promise<void>;
  defaultCalendar(email: string): CalendarState;
}

interface Request {
  method: string;
  url: URL;
  headers: IncomingMessage['headers'];
  raw: Buffer;
  account: Account;
  prefer: Prefer;
  /** The calendar the path addressed, resolved; absent for mailbox-wide paths. */
  cal?: CalendarState;
}

type Need = 'read' | 'write' | 'none';

interface Route {
  operation: string;
  need: Need;
  /** 'me', or the {id | userPrincipalName} of /users/{...}; absent for /subscriptions. */
  user?: string;
  /** Calendar id as written in the path, or 'default' (/me/calendar, /me/events, /me/calendarView). */
  calendar?: string;
  run: (r: Request) => Promise<Reply> | Reply;
}

const RESPONSES: Record<string, 'accepted' | 'declined' | 'tentativelyAccepted'> = {
  accept: 'accepted',
  decline: 'declined',
  tentativelyaccept: 'tentativelyAccepted',
};

export class GraphApi {
  constructor(private readonly ctx: GraphContext) {}

  /** Requests being answered, per mailbox (the account the token acts for). */
  private readonly inFlight = new Map<string, number>();
  /** The most requests a mailbox had in flight at once since the emulator started. */
  readonly peakInFlight = new Map<string, number>();
  /** Requests answered 429 for going over the per-mailbox concurrency limit. */
  throttledByConcurrency = 0;

  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const method = req.method ?? 'GET';
    const requestId = newGuid();
    const clientRequestId = header(req, 'client-request-id') ?? requestId;
    const call: CallRecord = {
      at: Date.now(),
      method,
      path: url.pathname,
      query: parseQuery(url.searchParams),
      status: 0,
      operation: 'unknown',
    };
    let reply: Reply;
    let mailbox: string | undefined;
    try {
      const raw = method === 'GET' || method === 'DELETE' ? Buffer.alloc(0) : await readBody(req);
      const route = this.route(method, url.pathname);
      call.operation = route.operation;
      const who = this.ctx.auth.authenticate(bearer(req));
      if (!who.ok) throw unauthenticated(who.message);
      call.email = who.email;
      // Outlook's service limit: 4 concurrent requests per app per mailbox; the fifth is throttled.
      const inFlight = (this.inFlight.get(who.email) ?? 0) + 1;
      if (inFlight > MAILBOX_CONCURRENCY) {
        this.throttledByConcurrency += 1;
        throw new GraphApiError(429, 'ApplicationThrottled', 'Application is over its MailboxConcurrency limit.', 1);
      }
      mailbox = who.email;
      this.inFlight.set(mailbox, inFlight);
      this.peakInFlight.set(mailbox, Math.max(this.peakInFlight.get(mailbox) ?? 0, inFlight));
      if (!allows(who.scopes, route.need)) throw accessDenied();
      const account = this.ctx.auth.account(who.email) as Account;
      if (route.user !== undefined && route.user !== 'me') this.checkUser(route.user, account);
      const cal = route.calendar === undefined ? undefined : this.ownedCalendar(route.calendar, account);
      call.calendarId = cal?.id;
      const delay = this.ctx.faults.takeSlow(route.operation);
      if (delay > 0) await this.ctx.sleep(delay);
      const failure = this.ctx.faults.takeFailure(route.operation);
      if (failure && !failure.afterEffect) throw failure.error;
      const prefer = parsePrefer(header(req, 'prefer'));
      reply = await route.run({ method, url, headers: req.headers, raw, account, prefer, cal });
      if (failure) throw failure.error;
      if (prefer.applied.length && reply.status < 300 && !reply.headers?.['Preference-Applied']) {
        reply.headers = { ...reply.headers, 'Preference-Applied': prefer.applied.join(', ') };
      }
    } catch (err) {
      reply = errorReply(err, requestId, clientRequestId);
    } finally {
      if (mailbox !== undefined) {
        const left = (this.inFlight.get(mailbox) ?? 1) - 1;
        if (left > 0) this.inFlight.set(mailbox, left);
        else this.inFlight.delete(mailbox);
      }
    }
    reply.headers = {
      'request-id': requestId,
      'client-request-id': clientRequestId,
      'OData-Version': '4.0',
      'Cache-Control': 'no-cache',
      ...reply.headers,
    };
    if (reply.body !== undefined && typeof reply.body !== 'string') reply.headers['Content-Type'] ??= GRAPH_JSON;
    call.status = reply.status;
    this.ctx.recordCall(call);
    writeReply(res, reply);
    reply.after?.();
  }

  // ---- routing -----------------------------------------------------------------------------------

  private route(method: string, pathname: string): Route {
    let seg: string[];
    try {
      seg = pathname.slice('/v1.0/'.length).split('/').map(decodeURIComponent);
    } catch {
      seg = [];
    }
    if (seg[seg.length - 1] === '') seg.pop();
    const low = seg.map((s) => s.toLowerCase());
    const found = low[0] === 'subscriptions' ? this.subscriptionRoute(method, seg, low) : this.userRoute(method, seg, low);
    if (found) return found;
    const last = seg[seg.length - 1] ?? '';
    throw new GraphApiError(400, 'BadRequest', `Resource not found for the segment '${last}'.`);
  }

  private subscriptionRoute(method: string, seg: string[], low: string[]): Route | undefined {
    if (seg.length === 1) {
      if (method === 'POST') return { operation: 'subscriptions.create', need: 'read', run: (r) => this.createSubscription(r) };
      if (method === 'GET') return { operation: 'subscriptions.list', need: 'none', run: (r) => this.listSubscriptions(r) };
    }
    const id = seg[1];
    if (seg.length === 2) {
      if (method === 'GET')
        return { operation: 'subscriptions.get', need: 'none', run: (r) => ok(subscriptionJson(this.subscription(id, r))) };
      if (method === 'PATCH')
        return { operation: 'subscriptions.update', need: 'none', run: (r) => this.renewSubscription(r, id) };
      if (method === 'DELETE')
        return { operation: 'subscriptions.delete', need: 'none', run: (r) => this.deleteSubscription(r, id) };
    }
    if (seg.length === 3 && low[2] === 'reauthorize' && method === 'POST') {
      return { operation: 'subscriptions.reauthorize', need: 'none', run: (r) => this.reauthorize(r, id) };
    }
    return undefined;
  }

  private userRoute(method: string, seg: string[], low: string[]): Route | undefined {
    let user: string;
    let r: string[];
    if (low[0] === 'me') {
      user = 'me';
      r = seg.slice(1);
    } else if (low[0] === 'users' && seg.length >= 2) {
      user = seg[1];
      r = seg.slice(2);
    } else {
      return undefined;
    }
    const lr = r.map((s) => s.toLowerCase());
    const GET = method === 'GET';
    if (r.length === 0 && GET) return { operation: 'me.get', need: 'none', user, run: (q) => this.me(q) };
    if (lr[0] === 'mailboxsettings' && r.length === 1 && GET)
      return { operation: 'mailboxSettings.get', need: 'none', user, run: (q) => this.mailboxSettings(q) };
    if (lr[0] === 'calendars' && r.length === 1 && GET)
      return { operation: 'calendars.list', need: 'read', user, run: (q) => this.calendars(q) };
    if (lr[0] === 'calendars' && r.length === 2 && GET)
      return { operation: 'calendars.get', need: 'read', user, calendar: r[1], run: (q) => this.calendar(q) };
    if (lr[0] === 'calendar' && r.length === 1 && GET)
      return { operation: 'calendars.get', need: 'read', user, calendar: 'default', run: (q) => this.calendar(q) };
    if (lr[0] === 'calendar' && lr[1] === 'getschedule' && r.length === 2 && method === 'POST') {
      return { operation: 'getSchedule', need: 'read', user, run: (q) => this.getSchedule(q) };
    }
    // Calendar-scoped paths: /calendars/{id}/..., /calendar/...; mailbox-level ones (/events, /calendarView) otherwise.
    let calendar: string | undefined;
    let tail: string[];
    if (lr[0] === 'calendars' && r.length >= 3) {
      calendar = r[1];
      tail = r.slice(2);
    } else if (lr[0] === 'calendar' && r.length >= 2) {
      calendar = 'default';
      tail = r.slice(1);
    } else {
      tail = r;
    }
    const lt = tail.map((s) => s.toLowerCase());
    if (lt[0] === 'events') {
      if (tail.length === 1) {
        if (GET)
          return {
            operation: 'events.list',
            need: 'read',
            user,
            calendar: calendar ?? 'default',
            run: (q) => this.listEvents(q),
          };
        if (method === 'POST')
          return {
            operation: 'events.create',
            need: 'write',
            user,
            calendar: calendar ?? 'default',
            run: (q) => this.createEvent(q),
          };
        return undefined;
      }
      const id = tail[1];
      if (tail.length === 2) {
        if (GET) return { operation: 'events.get', need: 'read', user, calendar, run: (q) => this.getEvent(q, id) };
        if (method === 'PATCH')
          return { operation: 'events.update', need: 'write', user, calendar, run: (q) => this.updateEvent(q, id) };
        if (method === 'DELETE')
          return { operation: 'events.delete', need: 'write', user, calendar, run: (q) => this.deleteEvent(q, id) };
        return undefined;
      }
      if (tail.length === 3 && lt[2] === 'instances' && GET)
        return { operation: 'events.instances', need: 'read', user, calendar, run: (q) => this.instances(q, id) };
      if (tail.length === 3 && RESPONSES[lt[2]] && method === 'POST') {
        return { operation: 'events.respond', need: 'write', user, calendar, run: (q) => this.respond(q, id, RESPONSES[lt[2]]) };
      }
      return undefined;
    }
    if (lt[0] === 'calendarview' && GET) {
      if (tail.length === 1)
        return {
          operation: 'calendarView',
          need: 'read',
          user,
          calendar: calendar ?? 'default',
          run: (q) => this.calendarView(q),
        };
      if (tail.length === 2 && lt[1] === 'delta')
        return {
          operation: 'calendarView.delta',
          need: 'read',
          user,
          calendar: calendar ?? 'default',
          run: (q) => this.delta(q),
        };
    }
    return undefined;
  }

  /** /users/{id | userPrincipalName}: a delegated token reaches its own mailbox only. */
  private checkUser(ref: string, account: Account): void {
    const target = ref.includes('@')
      ? this.ctx.auth.account(ref)
      : [...this.ctx.auth.accounts.values()].find((a) => a.userId === ref);
    if (!target) throw new GraphApiError(404, 'ErrorInvalidUser', `The requested user '${ref}' is invalid.`);
    if (target.email !== account.email) throw accessDenied();
  }

  private ownedCalendar(ref: string, account: Account): CalendarState {
    if (ref === 'default') return this.ctx.defaultCalendar(account.email);
    const cal = this.ctx.store.calendars.get(ref);
    if (!cal || cal.ownerEmail !== account.email) throw itemNotFound();
    return cal;
  }

  // ---- users and calendars -------------------------------------------------------------------------

  private me(r: Request): Reply {
    const a = r.account;
    return ok({
      '@odata.context': `${this.graphUrl}/$metadata#users/$entity`,
      businessPhones: [],
      displayName: a.displayName,
      givenName: a.displayName,
      jobTitle: null,
      mail: a.email,
      mobilePhone: null,
      officeLocation: null,
      preferredLanguage: 'en-US',
      surname: null,
      userPrincipalName: a.email,
      id: a.userId,
    });
  }

  private mailboxSettings(r: Request): Reply {
    return ok({
      '@odata.context': `${this.graphUrl}/$metadata#users('${r.account.userId}')/mailboxSettings`,
      timeZone: r.account.timeZone,
      dateFormat: 'yyyy-MM-dd',
      timeFormat: 'HH:mm',
      language: { locale: 'en-US', displayName: 'English (United States)' },
      workingHours: {
        daysOfWeek: ['monday', 'tuesday', 'wednesday', 'thursday', 'friday'],
        startTime: '08:00:00.0000000',
        endTime: '17:00:00.0000000',
        timeZone: { name: r.account.timeZone },
      },
    });
  }

  private calendars(r: Request): Reply {
    const all = [...this.ctx.store.calendars.values()]
      .filter((c) => c.ownerEmail === r.account.email)
      .sort((a, b) => Number(b.isDefault) - Number(a.isDefault));
    const project = projection(r);
    return this.page(r, all, (c) => project(calendarJson(c, r.account)), `users('${r.account.userId}')/calendars`);
  }

  private calendar(r: Request): Reply {
    return ok({
      '@odata.context': `${this.graphUrl}/$metadata#users('${r.account.userId}')/calendars/$entity`,
      ...calendarJson(r.cal as CalendarState, r.account),
    });
  }

  // ---- events ------------------------------------------------------------------------------------

  private listEvents(r: Request): Reply {
    const filter = parseEventsFilter(queryParam(r.url.searchParams, '$filter'));
    const items = listEvents(r.cal as CalendarState, filter);
    const render = this.renderer(r);
    return this.page(
      r,
      items,
      (rec) => render({ id: rec.id, rec, startMs: rec.startMs, endMs: rec.endMs }),
      `users('${r.account.userId}')/events`,
    );
  }

  private createEvent(r: Request): Reply {
    const cal = r.cal as CalendarState;
    const body = parseJsonObject(r.raw);
    const render = this.renderer(r);
    const tx = body.transactionId;
    if (typeof tx === 'string' && tx) {
      // A retried create (same transactionId) answers the event the first one made instead of a duplicate.
      const existing = this.ctx.store.findByTransactionId(cal, tx);
      if (!existing && this.ctx.faults.deletedTransactionIdsKept && this.ctx.store.deletedWithTransactionId(cal, tx)) {
        throw new GraphApiError(
          400,
          'ErrorDuplicateTransactionId',
          "Your request can't be completed. The TransactionId specified in the request has already been used to create a different event.",
        );
      }
      if (existing) {
        const candidate = this.ctx.store.build(cal, body);
        if (!this.ctx.faults.transactionsReplayedAsTheyAre && !sameEvent(existing, candidate)) {
          throw new GraphApiError(
            400,
            'ErrorDuplicateTransactionId',
            "Your request can't be completed. The TransactionId specified in the request has already been used to create a different event.",
          );
        }
        return {
          status: 201,
          body: withContext(
            this.graphUrl,
            r,
            render({ id: existing.id, rec: existing, startMs: existing.startMs, endMs: existing.endMs }),
          ),
        };
      }
    }
    const rec = this.ctx.store.create(cal, body);
    return {
      status: 201,
      body: withContext(this.graphUrl, r, render({ id: rec.id, rec, startMs: rec.startMs, endMs: rec.endMs })),
    };
  }

  private getEvent(r: Request, id: string): Reply {
    const item = this.findItem(r, id);
    return ok(withContext(this.graphUrl, r, this.renderer(r)(item)));
  }

  private updateEvent(r: Request, id: string): Reply {
    this.findItem(r, id);
    const rec = this.ctx.store.update(id, parseJsonObject(r.raw), { ifMatch: header(r, 'if-match') });
    return ok(withContext(this.graphUrl, r, this.renderer(r)({ id: rec.id, rec, startMs: rec.startMs, endMs: rec.endMs })));
  }

  private deleteEvent(r: Request, id: string): Reply {
    this.findItem(r, id);
    this.ctx.store.remove(id, { ifMatch: header(r, 'if-match') });
    return { status: 204 };
  }

  private respond(r: Request, id: string, response: 'accepted' | 'declined' | 'tentativelyAccepted'): Reply {
    this.findItem(r, id);
    this.ctx.store.respond(id, response);
    return { status: 202 };
  }

  private instances(r: Request, id: string): Reply {
    const item = this.findItem(r, id);
    if (item.occurrence || !item.rec.recurrence)
      throw badRequest('The event is not the master of a recurring series.', 'ErrorInvalidRequest');
    const { fromMs, toMs } = this.window(r);
    const cal = this.ctx.store.calendars.get(item.rec.calendarId) as CalendarState;
    return this.page(
      r,
      this.ctx.store.expand(cal, item.rec, fromMs, toMs),
      this.renderer(r),
      `users('${r.account.userId}')/events('${id}')/instances`,
    );
  }

  /** An event of the token's mailbox (and of the path's calendar, when the path named one), or 404. */
  private findItem(r: Request, id: string): ViewItem {
    const target = this.ctx.store.resolve(id);
    if (!target || target.cal.ownerEmail !== r.account.email || (r.cal && target.cal !== r.cal)) throw itemNotFound();
    const { rec, occurrence } = target;
    return occurrence
      ? { id, rec, occurrence, startMs: occurrence.startMs, endMs: occurrence.endMs }
      : { id, rec, startMs: rec.startMs, endMs: rec.endMs };
  }

  // ---- calendarView and delta --------------------------------------------------------------------

  private calendarView(r: Request): Reply {
    const { fromMs, toMs } = this.window(r);
    if (queryParam(r.url.searchParams, '$filter') !== undefined) {
      throw new GraphApiError(400, 'BadRequest', 'The emulator does not support $filter on calendarView.');
    }
    const items = this.ctx.store.view(r.cal as CalendarState, fromMs, toMs);
    return this.page(r, items, this.renderer(r), `users('${r.account.userId}')/calendarView`);
  }

  private delta(r: Request): Reply {
    const cal = r.cal as CalendarState;
    const q = r.url.searchParams;
    const skipToken = queryParam(q, '$skiptoken');
    const deltaToken = queryParam(q, '$deltatoken');
    let window: [number, number] | undefined;
    if (skipToken === undefined && deltaToken === undefined) {
      const { fromMs, toMs } = this.window(r);
      window = [fromMs, toMs];
    }
    // Graph's delta ignores $select for events, and so does the emulator.
    const page = deltaPage(
      this.ctx.store,
      cal,
      {
        skipToken,
        deltaToken,
        window,
        maxItems: r.prefer.maxPageSize ?? 10,
        hideOutside: this.ctx.faults.changesOutsideWindowHidden,
      },
      this.renderer(r, false),
    );
    let items = page.items;
    if (this.ctx.faults.shuffling && items.length > 0) items = shuffleWithRepeat(items);
    const link = `${this.ctx.url}${r.url.pathname}`;
    const body: Record<string, unknown> = { '@odata.context': `${this.graphUrl}/$metadata#Collection(event)` };
    if (page.skipToken !== undefined) body['@odata.nextLink'] = `${link}?$skiptoken=${page.skipToken}`;
    else body['@odata.deltaLink'] = `${link}?$deltatoken=${page.deltaToken}`;
    body.value = items;
    return ok(body, { 'Preference-Applied': ['odata.track-changes', ...r.prefer.applied].join(', ') });
  }

  private window(r: Request): { fromMs: number; toMs: number } {
    const zone = r.prefer.zone ?? 'UTC';
    const fromMs = parseBoundary(queryParam(r.url.searchParams, 'startDateTime'), 'startDateTime', zone);
    const toMs = parseBoundary(queryParam(r.url.searchParams, 'endDateTime'), 'endDateTime', zone);
    if (toMs <= fromMs) throw badRequest('The endDateTime must be after the startDateTime.', 'ErrorInvalidParameter');
    return { fromMs, toMs };
  }

  // ---- getSchedule ----------------------------------------------------------------------------------

  private getSchedule(r: Request): Reply {
    const zoneName = r.prefer.zoneName ?? 'UTC';
    const zone = r.prefer.zone ?? 'UTC';
    const req = parseScheduleRequest(parseJsonObject(r.raw), zone);
    const value = req.schedules.map((id) => {
      const account = this.ctx.auth.account(id);
      const cal = account ? this.ctx.defaultCalendar(account.email) : undefined;
      return scheduleInformation(this.ctx.store, id, cal, req, { zoneName, zone }, account?.timeZone ?? 'UTC');
    });
    return ok({ '@odata.context': `${this.graphUrl}/$metadata#Collection(microsoft.graph.scheduleInformation)`, value });
  }

  // ---- subscriptions -----------------------------------------------------------------------------

  private async createSubscription(r: Request): Promise<Reply> {
    const body = parseJsonObject(r.raw);
    const changeTypes = parseChangeTypes(body.changeType);
    const notificationUrl = checkLoopback(body.notificationUrl, 'notificationUrl');
    const lifecycleNotificationUrl =
      body.lifecycleNotificationUrl === undefined || body.lifecycleNotificationUrl === null
        ? undefined
        : checkLoopback(body.lifecycleNotificationUrl, 'lifecycleNotificationUrl');
    const ref = parseResource(body.resource);
    if (ref.user !== 'me') this.checkUser(ref.user, r.account);
    const calendarIds = ref.calendar === null ? null : [this.ownedCalendar(ref.calendar, r.account).id];
    const expirationMs = parseExpiration(body.expirationDateTime, this.ctx.maxSubscriptionMinutes);
    const clientState = parseClientState(body.clientState);
    // Graph validates every URL before it answers; a failed handshake fails the create.
    const log = (e: NotificationLogEntry): void => this.ctx.logNotification(e);
    await validateEndpoint(this.ctx.webhooks, notificationUrl, this.ctx.validationTimeoutMs, log);
    if (lifecycleNotificationUrl !== undefined && lifecycleNotificationUrl !== notificationUrl) {
      await validateEndpoint(this.ctx.webhooks, lifecycleNotificationUrl, this.ctx.validationTimeoutMs, log);
    }
    const sub: Subscription = {
      id: newSubscriptionId(),
      email: r.account.email,
      userId: r.account.userId,
      resource: body.resource as string,
      changeType: changeTypes.join(','),
      changeTypes,
      notificationUrl,
      lifecycleNotificationUrl,
      clientState,
      expirationMs,
      createdMs: Date.now(),
      calendarIds,
      needsReauthorization: false,
      applicationId: newGuid(),
    };
    this.ctx.subscriptions.set(sub.id, sub);
    return {
      status: 201,
      body: { '@odata.context': `${this.graphUrl}/$metadata#subscriptions/$entity`, ...subscriptionJson(sub) },
    };
  }

  private listSubscriptions(r: Request): Reply {
    const value = [...this.ctx.subscriptions.values()]
      .filter((s) => s.email === r.account.email && isLive(s))
      .map(subscriptionJson);
    return ok({ '@odata.context': `${this.graphUrl}/$metadata#subscriptions`, value });
  }

  private renewSubscription(r: Request, id: string): Reply {
    const sub = this.subscription(id, r);
    const body = parseJsonObject(r.raw);
    sub.expirationMs = parseExpiration(body.expirationDateTime, this.ctx.maxSubscriptionMinutes);
    return ok({ '@odata.context': `${this.graphUrl}/$metadata#subscriptions/$entity`, ...subscriptionJson(sub) });
  }

  private deleteSubscription(r: Request, id: string): Reply {
    this.subscription(id, r);
    this.ctx.subscriptions.delete(id);
    return { status: 204 };
  }

  private reauthorize(r: Request, id: string): Reply {
    this.subscription(id, r).needsReauthorization = false;
    return { status: 204 };
  }

  /** A live subscription of the token's account; expired ones are gone, as at Graph. */
  private subscription(id: string, r: Request): Subscription {
    const sub = this.ctx.subscriptions.get(id);
    if (!sub || sub.email !== r.account.email || !isLive(sub))
      throw new GraphApiError(404, 'ResourceNotFound', 'The object was not found.');
    return sub;
  }

  // ---- helpers -----------------------------------------------------------------------------------

  private get graphUrl(): string {
    return `${this.ctx.url}/v1.0`;
  }

  /** Events as the request prefers them (zone, body type), cut to $select unless `selectable` is false (delta). */
  private renderer(r: Request, selectable = true): (item: ViewItem) => object {
    const ctx: RenderContext = {
      zoneName: r.prefer.zoneName ?? 'UTC',
      zone: r.prefer.zone ?? 'UTC',
      textBody: r.prefer.textBody,
      ownerEmail: r.account.email,
      ownerName: r.account.displayName,
    };
    const project = selectable ? projection(r) : (o: object) => o;
    return (item) => project(renderEvent(item.rec, item.occurrence, ctx));
  }

  /** $top/$skip paging with an absolute https nextLink (the Graph client strips only an https origin). */
  private page<T>(r: Request, all: T[], render: (item: T) => object, context: string): Reply {
    const top = pageSize(queryParam(r.url.searchParams, '$top'), r.prefer);
    const skip = skipValue(queryParam(r.url.searchParams, '$skip'));
    const body: Record<string, unknown> = { '@odata.context': `${this.graphUrl}/$metadata#${context}` };
    if (skip + top < all.length) {
      const next = new URL(`${this.ctx.url}${r.url.pathname}${r.url.search}`);
      for (const k of [...next.searchParams.keys()])
        if (k.toLowerCase() === '$skip' || k.toLowerCase() === '$top') next.searchParams.delete(k);
      next.searchParams.set('$top', String(top));
      next.searchParams.set('$skip', String(skip + top));
      body['@odata.nextLink'] = next.toString();
    }
    body.value = all.slice(skip, skip + top).map(render);
    return ok(body);
  }
}

/** $select: only the named top-level properties, plus id and @odata.etag (as Graph answers). */
function projection(r: Request): (o: object) => object {
  const select = queryParam(r.url.searchParams, '$select');
  if (!select) return (o) => o;
  const wanted = new Set(['id', '@odata.etag', ...select.split(',').map((s) => s.trim().toLowerCase())]);
  return (o) => Object.fromEntries(Object.entries(o).filter(([k]) => wanted.has(k.toLowerCase())));
}

function calendarJson(cal: CalendarState, owner: Account): Record<string, unknown> {
  return {
    id: cal.id,
    name: cal.name,
    color: 'auto',
    hexColor: '',
    isDefaultCalendar: cal.isDefault,
    changeKey: cal.changeKey,
    canShare: true,
    canViewPrivateItems: true,
    canEdit: true,
    allowedOnlineMeetingProviders: ['teamsForBusiness'],
    defaultOnlineMeetingProvider: 'teamsForBusiness',
    isTallyingResponses: true,
    isRemovable: !cal.isDefault,
    owner: { name: owner.displayName, address: owner.email },
  };
}

/** A retry of the same create: same subject, times and recurrence. */
function sameEvent(a: StoredEvent, b: StoredEvent): boolean {
  return (
    a.fields.subject === b.fields.subject &&
    a.startMs === b.startMs &&
    a.endMs === b.endMs &&
    a.fields.isAllDay === b.fields.isAllDay &&
    JSON.stringify(a.recurrence ?? null) === JSON.stringify(b.recurrence ?? null)
  );
}

function withContext(graphUrl: string, r: Request, event: object): object {
  return { '@odata.context': `${graphUrl}/$metadata#users('${r.account.userId}')/events/$entity`, ...event };
}

/** Shuffled, with one entity repeated: what "entities may repeat, in no order" looks like at its worst. */
function shuffleWithRepeat(items: object[]): object[] {
  const out = [...items, items[Math.floor(Math.random() * items.length)]];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

function ok(body: unknown, headers?: Record<string, string>): Reply {
  return { status: 200, body, headers };
}

export function errorReply(err: unknown, requestId = newGuid(), clientRequestId = requestId): Reply {
  if (err instanceof GraphApiError) {
    const headers: Record<string, string> = { ...err.headers };
    if (err.retryAfterSeconds !== undefined) headers['Retry-After'] = String(err.retryAfterSeconds);
    return { status: err.status, body: err.body(requestId, clientRequestId), headers };
  }
  const message = err instanceof Error ? err.message : String(err);
  return {
    status: 500,
    body: new GraphApiError(500, 'generalException', `Emulator error: ${message}`).body(requestId, clientRequestId),
  };
}

function bearer(req: IncomingMessage): string | undefined {
  const h = req.headers.authorization;
  const m = h ? /^Bearer\s+(.+)$/i.exec(h) : null;
  return m ? m[1].trim() : undefined;
}
