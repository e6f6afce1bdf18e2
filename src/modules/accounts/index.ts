/**
 * The accounts module's public surface (users, teams, memberships): all another module may import
 * from it, besides `accounts.module.ts`. Everything else in this folder is internal, and
 * `npm run lint` (dependency-cruiser, `.dependency-cruiser.cjs`) refuses imports of it from other
 * modules. Tables: "User", "Team", "Membership".
 */
export { AccountsModule } from './accounts.module.js';
export {
  ParentTeamNotFoundError,
  TeamIdTakenError,
  TeamNotFoundError,
  UserEmailTakenError,
  UserIdTakenError,
  UserNotFoundError,
} from './accounts.errors.js';
export { MembershipChanged } from './events/membership-changed.event.js';
export { GetTeamQuery } from './queries/get-team.query.js';
export { GetUserQuery } from './queries/get-user.query.js';
export { USER_TEAM_ANCESTRY, type UserTeamAncestryRow } from './read-models/user-team-ancestry.read-model.js';
