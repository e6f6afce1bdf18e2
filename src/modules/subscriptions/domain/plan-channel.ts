/** What `subscribe-calendars` knows about one followed calendar. Times are epoch ms. */
export interface ChannelPlanInput {
  /** The cache flag is on for the owner and the calendar is a busy-time source. */
  cacheOn: boolean;
  /** The sync flag is on for the owner and the calendar holds (or receives) their bookings. */
  syncOn: boolean;
  /** The credential is active and its provider enabled in this deployment. */
  usable: boolean;
  /** The last sync wrote this calendar's events into the cache. */
  cacheEnabled: boolean;
  hasChannel: boolean;
  channelExpiration: number | null;
  /**
   * The channel carries a webhook secret other than the current one (`WebhookSecrets.isStale`):
   * after a rotation its notifications are, or soon will be, refused.
   */
  secretStale: boolean;
  /** A failed subscribe attempt waits until then. */
  nextAttemptAt: number | null;
  /** Its last sync or subscribe attempt failed (`syncErrorCount` > 0). */
  failing: boolean;
  now: number;
  /** Renew a channel this long before it expires (`SUBSCRIPTION_RENEW_BEFORE_SECONDS`). */
  renewBeforeMs: number;
}

export interface ChannelPlan {
  /**
   * - `stop`: nobody needs the calendar (or the cache must be dropped): stop the channel, forget it;
   * - `watch`: open a channel (none, or the current one lapsed);
   * - `renew`: the live channel is inside the renewal window;
   * - `replace`: the live channel carries a webhook secret that was rotated away: a new channel
   *   with the current secret takes its place (renewing could keep the old secret);
   * - `defer`: it needs a channel, but the last attempt failed and its backoff is not over;
   * - `keep`: nothing to do.
   */
  action: 'stop' | 'watch' | 'renew' | 'replace' | 'defer' | 'keep';
  /** With `stop`: the cache was on and must go. */
  dropCache: boolean;
  /** The cache was just turned off while the calendar stays followed: a sync clears it. */
  requestSync: boolean;
  /**
   * Neither flag wants the calendar followed any more, yet it still counts as failing: forget the
   * failure, so a calendar calsync no longer syncs is not reported in error (admin list, the
   * `calsync_calendars_in_error` gauge and its alert) for ever. A calendar still wanted but not
   * usable (its credential revoked) keeps its error: someone has to reconnect it.
   */
  clearErrors: boolean;
}

/** The channel decision for one calendar: whether it needs one, and whether it is time to renew it. */
export function planChannel(input: ChannelPlanInput): ChannelPlan {
  const wanted = input.cacheOn || input.syncOn;
  const needed = input.usable && wanted;
  if (!needed) {
    const dropCache = input.cacheEnabled && !input.cacheOn;
    // Its failure, and a channel attempt still due (which the safety-net sweep reads as "wanted
    // but unsubscribed"), are forgotten.
    const clearErrors = (input.failing || input.nextAttemptAt !== null) && !wanted;
    return { action: input.hasChannel || dropCache ? 'stop' : 'keep', dropCache, requestSync: false, clearErrors };
  }
  const requestSync = input.cacheEnabled && !input.cacheOn;
  const expiration = input.channelExpiration ?? 0;
  const keep = { dropCache: false, requestSync, clearErrors: false };
  const live = input.hasChannel && expiration > input.now;
  if (live && !input.secretStale && expiration > input.now + input.renewBeforeMs) return { action: 'keep', ...keep };
  if (input.nextAttemptAt !== null && input.nextAttemptAt > input.now) return { action: 'defer', ...keep };
  if (live && input.secretStale) return { action: 'replace', ...keep };
  return { action: live ? 'renew' : 'watch', ...keep };
}
