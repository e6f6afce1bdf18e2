export type FeatureFlagScope = 'global' | 'user' | 'team';

/**
 * A flag, or one user's or team's assignment of it, changed through the admin API. Published after
 * the change is committed and this instance's flag cache is cleared. The event bus is in memory:
 * other instances pick the change up through the flag cache's short TTL, not through this event.
 */
export class FeatureFlagChanged {
  constructor(
    readonly slug: string,
    readonly scope: FeatureFlagScope,
    /** The user or team id for `user` and `team` scopes. */
    readonly targetId?: number,
  ) {}
}
