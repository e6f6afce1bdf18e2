import { type CacheTrustInput, isCacheTrusted, needsResync } from './cache-trust.js';

const now = Date.UTC(2027, 2, 1, 12);
const config = { staleAfterMs: 2700_000 };
const ago = (ms: number) => new Date(now - ms);
const trusted: CacheTrustInput = {
  cacheOn: true,
  cacheEnabled: true,
  syncToken: 'cursor',
  cacheCoveredUntil: new Date(now + 92 * 86_400_000),
  channelId: 'channel',
  channelExpiration: new Date(now + 86_400_000),
  syncedAt: ago(60_000),
};

describe('isCacheTrusted', () => {
  it.each<[string, Partial<CacheTrustInput>, boolean]>([
    ['a followed calendar synced a minute ago', {}, true],
    ['the cache flag off', { cacheOn: false }, false],
    ['a cache the last sync did not write', { cacheEnabled: false }, false],
    ['no cursor', { syncToken: null }, false],
    ['no recorded coverage', { cacheCoveredUntil: null }, false],
    ['no channel', { channelId: null }, false],
    ['a channel of unknown expiry', { channelExpiration: null }, false],
    ['a channel that expired', { channelExpiration: ago(1) }, false],
    ['a channel expiring this very instant', { channelExpiration: ago(0) }, false],
    ['never synced', { syncedAt: null }, false],
    ['synced exactly as long ago as allowed', { syncedAt: ago(config.staleAfterMs) }, true],
    ['synced a moment too long ago', { syncedAt: ago(config.staleAfterMs + 1) }, false],
    ['coverage shorter than the window (the rest is answered live)', { cacheCoveredUntil: ago(86_400_000) }, true],
  ])('%s', (_name, overrides, expected) => {
    expect(isCacheTrusted({ ...trusted, ...overrides }, now, config)).toBe(expected);
  });
});

describe('needsResync', () => {
  it.each<[string, Partial<CacheTrustInput>, boolean, boolean]>([
    ['a trusted cache', {}, true, false],
    ['a stale cache', { syncedAt: ago(config.staleAfterMs + 1) }, false, true],
    ['a cache whose channel lapsed', { channelExpiration: ago(1) }, false, true],
    ['the cache flag off', { cacheOn: false }, false, false],
    ['a cache not filled yet', { cacheEnabled: false }, false, false],
  ])('%s', (_name, overrides, isTrusted, expected) => {
    expect(needsResync({ ...trusted, ...overrides }, isTrusted)).toBe(expected);
  });
});
