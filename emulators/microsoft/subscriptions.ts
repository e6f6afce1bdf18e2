import { badRequest, GraphApiError } from './errors.js';
import { newGuid } from './ids.js';
import { formatUtcStamp } from './time.js';
import type { ChangeType, NotificationLogEntry, SubscriptionInfo } from './types.js';
import { type WebhookClient, WebhookTimeout } from './webhook-client.js';

/**
 * Change-notification subscriptions: the registry, the resource paths Graph accepts for events, the
 * lifetime rules, and the validation handshake Graph runs on every URL before it answers the create.
 */

export interface Subscription {
  id: string;
  email: string;
  userId: string;
  resource: string;
  changeType: string;
  changeTypes: ChangeType[];
  notificationUrl: string;
  lifecycleNotificationUrl?: string;
  clientState?: string;
  expirationMs: number;
  createdMs: number;
  /** Calendars whose changes reach it; `/me/events` watches every calendar of the mailbox. */
  calendarIds: string[] | null;
  needsReauthorization: boolean;
  applicationId: string;
}

/** A resource path split into the user it names and the calendar ('default', an id, or null for all). */
export interface ResourceRef {
  user: string;
  calendar: string | null;
}

const CHANGE_TYPES: ChangeType[] = ['created', 'updated', 'deleted'];
const MAX_CLIENT_STATE = 128;

/** me/events, me/calendar/events, me/calendars/{id}/events, and the same under users/{id or email}. */
export function parseResource(resource: unknown): ResourceRef {
  if (typeof resource !== 'string' || !resource) throw badRequest('resource is required.', 'InvalidRequest');
  const path = resource.split('?')[0].replace(/^\/+/, '').replace(/\/+$/, '');
  let seg: string[];
  try {
    seg = path.split('/').map(decodeURIComponent);
  } catch {
    seg = [];
  }
  const lower = seg.map((s) => s.toLowerCase());
  let user: string | undefined;
  let rest: string[] = [];
  if (lower[0] === 'me') {
    user = 'me';
    rest = lower.slice(1);
  } else if (lower[0] === 'users' && seg.length > 1) {
    user = seg[1];
    rest = lower.slice(2);
  }
  if (user !== undefined) {
    if (rest.length === 1 && rest[0] === 'events') return { user, calendar: null };
    if (rest.length === 2 && rest[0] === 'calendar' && rest[1] === 'events') return { user, calendar: 'default' };
    if (rest.length === 3 && rest[0] === 'calendars' && rest[2] === 'events') return { user, calendar: seg[seg.length - 2] };
  }
  throw badRequest(
    `Unsupported resource '${resource}': the emulator serves subscriptions to me/events, me/calendar/events, me/calendars/{id}/events (or users/{id}/...).`,
    'InvalidRequest',
  );
}

export function parseChangeTypes(value: unknown): ChangeType[] {
  if (typeof value !== 'string' || !value.trim()) throw badRequest('changeType is required.', 'InvalidRequest');
  const types = value.split(',').map((s) => s.trim());
  if (!types.every((t) => (CHANGE_TYPES as string[]).includes(t))) {
    throw badRequest(`Invalid changeType '${value}': use created, updated, deleted, comma-separated.`, 'InvalidRequest');
  }
  return [...new Set(types as ChangeType[])];
}

export function parseClientState(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value.length > MAX_CLIENT_STATE) {
    throw badRequest(`clientState must be a string of at most ${MAX_CLIENT_STATE} characters.`, 'InvalidRequest');
  }
  return value;
}

/** expirationDateTime must be in the future and at most `maxMinutes` ahead (ExtensionError otherwise, as Graph). */
export function parseExpiration(value: unknown, maxMinutes: number, now = Date.now()): number {
  const ms = typeof value === 'string' ? Date.parse(value) : NaN;
  if (Number.isNaN(ms)) throw badRequest('expirationDateTime is required and must be an ISO 8601 date-time.', 'InvalidRequest');
  if (ms <= now) throw badRequest('Subscription expiration must be in the future.', 'ExtensionError');
  if (ms > now + maxMinutes * 60_000) {
    throw badRequest(`Subscription expiration can only be ${maxMinutes} minutes in the future.`, 'ExtensionError');
  }
  return ms;
}

export function newSubscriptionId(): string {
  return newGuid();
}

export function isLive(sub: Subscription, now = Date.now()): boolean {
  return sub.expirationMs > now;
}

/** Graph's wire form; expired subscriptions are gone for the API (Graph deletes them). */
export function subscriptionJson(sub: Subscription): Record<string, unknown> {
  return {
    id: sub.id,
    resource: sub.resource,
    applicationId: sub.applicationId,
    changeType: sub.changeType,
    clientState: sub.clientState ?? null,
    notificationUrl: sub.notificationUrl,
    notificationQueryOptions: null,
    lifecycleNotificationUrl: sub.lifecycleNotificationUrl ?? null,
    expirationDateTime: formatUtcStamp(sub.expirationMs).replace(/\.\d+Z$/, 'Z'),
    creatorId: sub.userId,
    includeResourceData: false,
    latestSupportedTlsVersion: 'v1_2',
    encryptionCertificate: null,
    encryptionCertificateId: null,
    notificationUrlAppId: null,
  };
}

export function subscriptionInfo(sub: Subscription, now = Date.now()): SubscriptionInfo {
  const info: SubscriptionInfo = {
    id: sub.id,
    email: sub.email,
    resource: sub.resource,
    changeType: sub.changeType,
    notificationUrl: sub.notificationUrl,
    expirationDateTime: new Date(sub.expirationMs).toISOString(),
    calendarIds: sub.calendarIds ? [...sub.calendarIds] : [],
    needsReauthorization: sub.needsReauthorization,
    expired: !isLive(sub, now),
  };
  if (sub.lifecycleNotificationUrl !== undefined) info.lifecycleNotificationUrl = sub.lifecycleNotificationUrl;
  if (sub.clientState !== undefined) info.clientState = sub.clientState;
  return info;
}

/**
 * The handshake: POST url?validationToken=<token> (text/plain); the receiver must answer 200 with the decoded
 * token as its body within the timeout, else the create fails with Graph's 400.
 */
export async function validateEndpoint(
  client: WebhookClient,
  url: string,
  timeoutMs: number,
  log: (entry: NotificationLogEntry) => void,
): Promise<void> {
  const token = `Validation: Testing client application reachability for subscription Request-Id: ${newGuid()}`;
  const target = new URL(url);
  target.searchParams.append('validationToken', token);
  const entry: NotificationLogEntry = {
    at: Date.now(),
    kind: 'validation',
    url,
    subscriptionIds: [],
    events: ['validation'],
    eventIds: [],
    status: 'error',
    attempts: 1,
  };
  try {
    const answer = await client.post(target.toString(), '', 'text/plain; charset=utf-8', timeoutMs);
    entry.status = answer.status;
    if (answer.status !== 200) {
      throw new GraphApiError(
        400,
        'ValidationError',
        'Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request.',
      );
    }
    if (answer.body !== token) {
      throw new GraphApiError(
        400,
        'ValidationError',
        'Subscription validation request failed. Response must exactly match validationToken query parameter.',
      );
    }
  } catch (err) {
    if (err instanceof GraphApiError) throw err;
    if (err instanceof WebhookTimeout) {
      entry.status = 'timeout';
      throw new GraphApiError(400, 'InvalidRequest', 'Subscription validation request timed out.');
    }
    throw new GraphApiError(
      400,
      'ValidationError',
      `Subscription validation request failed. HTTP request to ${url} failed: ${(err as Error).message}`,
    );
  } finally {
    entry.at = Date.now();
    log(entry);
  }
}
