/**
 * Read model: every team a user belongs to, directly or through parent teams (at most 32 levels
 * up), as rows `("userId", "teamId")`, one per pair.
 * - Owner: accounts (it owns Team and Membership and keeps this in step with them).
 * - Read by: feature-flags (`FeatureFlagService`: a team assignment applies to the members of the
 *   team and of its sub-teams). Flag resolution is on every hot path, so the read model is joined
 *   into the caller's own single query rather than asked for separately.
 * - Delivered as: the set-returning SQL function `"UserTeamAncestry"(userIds integer[])`, created
 *   by migration 1763800000006 (one indexed walk per user: Membership by `userId`, then Team by
 *   primary key). Use it as a table in SQL: `FROM ${USER_TEAM_ANCESTRY}($1::int[])`.
 * - Reads: Membership (accounts) `userId`, `teamId`; Team (accounts) `id`, `parentId`.
 */
export const USER_TEAM_ANCESTRY = '"UserTeamAncestry"';

/** A row of `USER_TEAM_ANCESTRY`. */
export interface UserTeamAncestryRow {
  userId: number;
  teamId: number;
}
