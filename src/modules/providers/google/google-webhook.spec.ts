import { WebhookSecrets } from '../webhook-secrets.js';
import { GoogleWebhookParser } from './google-webhook.js';

const parser = new GoogleWebhookParser(new WebhookSecrets('channel-token', null));
const push = (headers: Record<string, string | string[]>) =>
  parser.parse({ route: 'notifications', headers, query: {}, body: undefined });

describe('GoogleWebhookParser', () => {
  it('reads a change push from its headers', () => {
    expect(
      push({
        'x-goog-channel-id': 'calsync-1-abc',
        'x-goog-channel-token': 'channel-token',
        'x-goog-resource-id': 'res-1',
        'x-goog-resource-state': 'exists',
      }),
    ).toEqual({
      type: 'notifications',
      acceptedStatus: 200,
      items: [{ channelId: 'calsync-1-abc', resourceId: 'res-1', secretValid: true, kind: 'changed' }],
    });
  });

  it('reads the channel’s sync message as a hello, and not_exists as a change', () => {
    const kind = (state: string) => {
      const parsed = push({
        'x-goog-channel-id': 'c',
        'x-goog-channel-token': 'channel-token',
        'x-goog-resource-id': 'res-1',
        'x-goog-resource-state': state,
      });
      return parsed.type === 'notifications' ? parsed.items[0].kind : parsed.type;
    };
    expect(kind('sync')).toBe('hello');
    expect(kind('not_exists')).toBe('changed');
  });

  it.each([
    ['a wrong token', { 'x-goog-channel-token': 'channel-tokem' }],
    ['a longer token', { 'x-goog-channel-token': 'channel-token-and-more' }],
    ['no token', {}],
    ['a repeated token header', { 'x-goog-channel-token': ['channel-token', 'channel-token'] }],
  ])('marks %s as an invalid secret', (_label, headers) => {
    const parsed = push({ 'x-goog-channel-id': 'c', 'x-goog-resource-state': 'exists', ...headers });
    expect(parsed.type === 'notifications' && parsed.items[0].secretValid).toBe(false);
  });

  it('carries a missing channel id as null (the intake ignores it)', () => {
    const parsed = push({
      'x-goog-channel-token': 'channel-token',
      'x-goog-resource-id': 'res-1',
      'x-goog-resource-state': 'exists',
    });
    expect(parsed.type === 'notifications' && parsed.items[0].channelId).toBeNull();
  });

  it.each([
    ['no resource id', {}],
    ['an empty resource id', { 'x-goog-resource-id': '' }],
    ['a repeated resource id header', { 'x-goog-resource-id': ['res-1', 'res-2'] }],
  ])('refuses an authentic push with %s as malformed, naming the header', (_label, headers) => {
    const parsed = push({
      'x-goog-channel-id': 'c',
      'x-goog-channel-token': 'channel-token',
      'x-goog-resource-state': 'exists',
      ...headers,
    });
    expect(parsed).toEqual({ type: 'malformed', message: 'X-Goog-Resource-ID header is required on a Google Calendar push' });
  });

  it('answers a wrong token first, whatever else the push lacks', () => {
    const parsed = push({ 'x-goog-channel-id': 'c', 'x-goog-channel-token': 'wrong', 'x-goog-resource-state': 'exists' });
    expect(parsed.type === 'notifications' && parsed.items[0].secretValid).toBe(false);
  });

  it('refuses the life-cycle route, which Google never calls', () => {
    expect(parser.parse({ route: 'lifecycle', headers: {}, query: {}, body: undefined }).type).toBe('malformed');
  });

  it('never accepts anything when no token is configured', () => {
    const open = new GoogleWebhookParser(new WebhookSecrets('', null));
    const parsed = open.parse({ route: 'notifications', headers: { 'x-goog-channel-token': '' }, query: {}, body: undefined });
    expect(parsed.type === 'notifications' && parsed.items[0].secretValid).toBe(false);
  });

  it('during a rotation accepts the previous token as well as the new one, and nothing else', () => {
    const rotating = new GoogleWebhookParser(new WebhookSecrets('new-token', 'channel-token'));
    const valid = (token: string) => {
      const parsed = rotating.parse({
        route: 'notifications',
        headers: {
          'x-goog-channel-id': 'c',
          'x-goog-channel-token': token,
          'x-goog-resource-id': 'r',
          'x-goog-resource-state': 'exists',
        },
        query: {},
        body: undefined,
      });
      return parsed.type === 'notifications' && parsed.items[0].secretValid;
    };
    expect([valid('new-token'), valid('channel-token'), valid('other-token'), valid('')]).toEqual([true, true, false, false]);
  });
});
