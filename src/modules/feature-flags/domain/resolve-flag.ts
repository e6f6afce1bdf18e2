export type FlagReason = 'user' | 'team' | 'global';

export interface FlagInputs {
  /** The user's own assignment, if any. */
  user: boolean | null;
  /** Assignments of the user's teams and their ancestors (empty when none). */
  teams: boolean[];
  /** The flag's global `enabled`; null when the flag does not exist. */
  global: boolean | null;
}

export interface FlagResolution {
  enabled: boolean;
  reason: FlagReason;
}

/**
 * The user's own assignment wins; without one, any assignment of the user's teams (or their parent
 * teams) that enables the flag turns it on; without either, the flag's global switch decides.
 */
export function resolveFlag(inputs: FlagInputs): FlagResolution {
  if (inputs.user !== null) return { enabled: inputs.user, reason: 'user' };
  if (inputs.teams.length > 0) return { enabled: inputs.teams.some(Boolean), reason: 'team' };
  return { enabled: inputs.global ?? false, reason: 'global' };
}
