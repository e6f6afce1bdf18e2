import { type ChannelPlan, type ChannelPlanInput, planChannel } from './plan-channel.js';

const now = Date.parse('2026-12-01T12:00:00.000Z');
const hour = 3_600_000;
const day = 24 * hour;
const base: ChannelPlanInput = {
  cacheOn: false,
  syncOn: true,
  usable: true,
  cacheEnabled: false,
  hasChannel: true,
  channelExpiration: now + 6 * day,
  secretStale: false,
  nextAttemptAt: null,
  failing: false,
  now,
  renewBeforeMs: day,
};
const plan = (action: ChannelPlan['action'], extra: Partial<ChannelPlan> = {}): ChannelPlan => ({
  action,
  dropCache: false,
  requestSync: false,
  clearErrors: false,
  ...extra,
});

describe('planChannel', () => {
  it.each<[string, Partial<ChannelPlanInput>, ChannelPlan]>([
    ['a live channel outside the renewal window is kept', {}, plan('keep')],
    ['no channel yet: watch', { hasChannel: false, channelExpiration: null }, plan('watch')],
    ['inside the renewal window: renew', { channelExpiration: now + 23 * hour }, plan('renew')],
    ['exactly at the window’s edge: kept', { channelExpiration: now + day + 1 }, plan('keep')],
    ['lapsed: watch anew', { channelExpiration: now - 1 }, plan('watch')],
    ['a live channel with a rotated-away secret: replaced at once', { secretStale: true }, plan('replace')],
    [
      'inside the renewal window with a rotated-away secret: replaced, not renewed',
      { secretStale: true, channelExpiration: now + hour },
      plan('replace'),
    ],
    ['lapsed with a rotated-away secret: watch anew', { secretStale: true, channelExpiration: now - 1 }, plan('watch')],
    ['a failed replacement still backing off: defer', { secretStale: true, nextAttemptAt: now + 1000 }, plan('defer')],
    ['nobody needs a channel with a rotated-away secret: stop', { secretStale: true, syncOn: false }, plan('stop')],
    [
      'a failed attempt still backing off: defer',
      { hasChannel: false, channelExpiration: null, nextAttemptAt: now + 1000 },
      plan('defer'),
    ],
    ['the backoff is over: watch', { hasChannel: false, channelExpiration: null, nextAttemptAt: now - 1 }, plan('watch')],
    ['only the cache needs it', { syncOn: false, cacheOn: true, cacheEnabled: true }, plan('keep')],
    ['nobody needs it: stop', { syncOn: false }, plan('stop')],
    [
      'nobody needs it and it has no channel: nothing',
      { syncOn: false, hasChannel: false, channelExpiration: null },
      plan('keep'),
    ],
    [
      'the cache flag went off: stop and drop the cache',
      { syncOn: false, cacheEnabled: true },
      plan('stop', { dropCache: true }),
    ],
    [
      'the cache went off but sync still needs it: keep, and a sync clears the cache',
      { cacheEnabled: true },
      plan('keep', { requestSync: true }),
    ],
    ['a revoked credential: stop', { usable: false }, plan('stop')],
    [
      'a failing calendar nobody follows any more: stop, and forget its failure',
      { syncOn: false, failing: true },
      plan('stop', { clearErrors: true }),
    ],
    [
      'a failing calendar without a channel that nobody follows: forget its failure',
      { syncOn: false, failing: true, hasChannel: false, channelExpiration: null },
      plan('keep', { clearErrors: true }),
    ],
    [
      'a calendar nobody follows any more with a channel attempt still due: forget it',
      { syncOn: false, hasChannel: false, channelExpiration: null, nextAttemptAt: now + hour },
      plan('keep', { clearErrors: true }),
    ],
    [
      'a failing calendar still wanted but its credential revoked: stop, the failure stays',
      { usable: false, failing: true },
      plan('stop'),
    ],
    [
      'a failing calendar still followed: its failure stays until a sync succeeds',
      { failing: true, hasChannel: false, channelExpiration: null },
      plan('watch'),
    ],
  ])('%s', (_name, overrides, expected) => {
    expect(planChannel({ ...base, ...overrides })).toEqual(expected);
  });
});
