import type { IncomingWebhook, ParsedWebhook, WebhookItem } from '../webhook.js';
import { WebhookSecrets } from '../webhook-secrets.js';
import { GraphWebhookParser } from './graph-webhook.js';

const SECRET = 'graph-client-state-secret';
const parser = new GraphWebhookParser(new WebhookSecrets(SECRET, null));

const request = (overrides: Partial<IncomingWebhook>): IncomingWebhook => ({
  route: 'notifications',
  headers: { 'content-type': 'application/json' },
  query: {},
  body: undefined,
  ...overrides,
});

const change = (subscriptionId: string, clientState: string | undefined = SECRET) => ({
  subscriptionId,
  subscriptionExpirationDateTime: '2026-12-08T10:00:00.0000000Z',
  changeType: 'updated',
  clientState,
  tenantId: 'tenant',
  resource: 'Users/u1/Events/e1',
  resourceData: { '@odata.type': '#Microsoft.Graph.Event', '@odata.id': 'Users/u1/Events/e1', id: 'e1' },
});

function items(parsed: ParsedWebhook): WebhookItem[] {
  if (parsed.type !== 'notifications') throw new Error(`expected notifications, got ${parsed.type}`);
  expect(parsed.acceptedStatus).toBe(202);
  return parsed.items;
}

describe('GraphWebhookParser', () => {
  describe('validation handshake', () => {
    // The HTTP layer hands over the query decoded (fastify: %3A → ':', '+' → ' '); it is echoed as is.
    const token =
      'Validation: Testing client application reachability for subscription Request-Id: 7a5b0e5c-4e1c-4bd1-9a42-7f1ec2b2b1f1';

    it.each(['notifications', 'lifecycle'] as const)('echoes the decoded token as text/plain on the %s route', (route) => {
      expect(parser.parse(request({ route, query: { validationToken: token }, body: undefined }))).toEqual({
        type: 'handshake',
        status: 200,
        contentType: 'text/plain; charset=utf-8',
        body: token,
      });
    });

    it('does not decode a second time', () => {
      const parsed = parser.parse(request({ query: { validationToken: 'a%41 100%' } }));
      expect(parsed).toMatchObject({ type: 'handshake', body: 'a%41 100%' });
    });

    it('ignores a repeated (array) validationToken and reads the body instead', () => {
      expect(parser.parse(request({ query: { validationToken: ['a', 'b'] } })).type).toBe('malformed');
    });
  });

  describe('malformed requests', () => {
    it.each<[string, unknown]>([
      ['no body', undefined],
      ['null', null],
      ['a string', 'value'],
      ['an array', [change('s1')]],
      ['no value', { notifications: [] }],
      ['value not an array', { value: { subscriptionId: 's1' } }],
      ['an item that is not an object', { value: [change('s1'), 'oops'] }],
      ['a null item', { value: [null] }],
    ])('%s → malformed with a readable message', (_label, body) => {
      const parsed = parser.parse(request({ body }));
      expect(parsed.type).toBe('malformed');
      if (parsed.type === 'malformed') expect(parsed.message).toMatch(/notification|value|object/i);
    });
  });

  describe('change notifications', () => {
    it('reads every item of a batch, for several subscriptions, each with its own secret check', () => {
      const body = {
        value: [change('sub-a'), change('sub-b'), change('sub-a', 'wrong'), change('sub-c', undefined), change('sub-b')],
      };
      expect(items(parser.parse(request({ body })))).toEqual([
        { channelId: 'sub-a', resourceId: null, secretValid: true, kind: 'changed' },
        { channelId: 'sub-b', resourceId: null, secretValid: true, kind: 'changed' },
        { channelId: 'sub-a', resourceId: null, secretValid: false, kind: 'changed' },
        { channelId: 'sub-c', resourceId: null, secretValid: true, kind: 'changed' },
        { channelId: 'sub-b', resourceId: null, secretValid: true, kind: 'changed' },
      ]);
    });

    it.each<[string, unknown]>([
      ['a wrong clientState', 'not-the-secret'],
      ['a clientState of another length', SECRET + 'x'],
      ['a secret prefix', SECRET.slice(0, -1)],
      ['no clientState', undefined],
      ['a non-string clientState', 42],
      ['an empty clientState', ''],
    ])('marks %s as not valid', (_label, clientState) => {
      const [item] = items(parser.parse(request({ body: { value: [{ subscriptionId: 's1', clientState }] } })));
      expect(item?.secretValid).toBe(false);
    });

    it('answers an empty batch with no items', () => {
      expect(items(parser.parse(request({ body: { value: [] } })))).toEqual([]);
    });

    it('gives an item without a subscription id a null channel', () => {
      const [item] = items(parser.parse(request({ body: { value: [{ clientState: SECRET }] } })));
      expect(item).toEqual({ channelId: null, resourceId: null, secretValid: true, kind: 'changed' });
    });

    it('never accepts anything when no secret is configured', () => {
      const open = new GraphWebhookParser(new WebhookSecrets('', null));
      const [item] = items(open.parse(request({ body: { value: [{ subscriptionId: 's1', clientState: '' }] } })));
      expect(item?.secretValid).toBe(false);
    });

    it('during a rotation accepts items with the previous client state as well as the new one', () => {
      const rotating = new GraphWebhookParser(new WebhookSecrets('new-client-state', SECRET));
      const body = { value: [change('s1', 'new-client-state'), change('s2', SECRET), change('s3', 'something-else')] };
      expect(items(rotating.parse(request({ body }))).map((item) => item.secretValid)).toEqual([true, true, false]);
    });
  });

  describe('lifecycle notifications', () => {
    const lifecycle = (subscriptionId: string, lifecycleEvent: string | undefined) => ({
      subscriptionId,
      subscriptionExpirationDateTime: '2026-12-08T10:00:00.0000000Z',
      tenantId: 'tenant',
      clientState: SECRET,
      lifecycleEvent,
    });

    it('maps each lifecycle event to what it asks for', () => {
      const body = {
        value: [
          lifecycle('s1', 'reauthorizationRequired'),
          lifecycle('s2', 'subscriptionRemoved'),
          lifecycle('s3', 'missed'),
          lifecycle('s4', 'somethingNew'),
          lifecycle('s5', undefined),
          lifecycle('s6', 'constructor'),
        ],
      };
      expect(items(parser.parse(request({ route: 'lifecycle', body }))).map((i) => [i.channelId, i.kind, i.secretValid])).toEqual(
        [
          ['s1', 'reauthorize', true],
          ['s2', 'removed', true],
          ['s3', 'missed', true],
          ['s4', 'missed', true],
          ['s5', 'missed', true],
          ['s6', 'missed', true],
        ],
      );
    });

    it('reads a lifecycle event sent to the notification route', () => {
      const [item] = items(parser.parse(request({ body: { value: [lifecycle('s1', 'subscriptionRemoved')] } })));
      expect(item?.kind).toBe('removed');
    });
  });
});
