export const CONFLICT_POLICIES = ['accept', 'revert', 'flag'] as const;
export type ConflictPolicy = (typeof CONFLICT_POLICIES)[number];

export const APPLY_FIELDS = ['applyReschedules', 'applyCancellations', 'applyDetails', 'applyAttendees'] as const;
export type ApplyField = (typeof APPLY_FIELDS)[number];
export const PREFERENCE_FIELDS = [...APPLY_FIELDS, 'conflictPolicy'] as const;
export type PreferenceField = (typeof PREFERENCE_FIELDS)[number];

/** Effective preferences: every field has a value. */
export interface SyncPreferences {
  applyReschedules: boolean;
  applyCancellations: boolean;
  applyDetails: boolean;
  applyAttendees: boolean;
  conflictPolicy: ConflictPolicy;
}

/** What one user or team stored: null (or absent) is "not set here". */
export type StoredPreferences = { [K in PreferenceField]?: SyncPreferences[K] | null };

export const DEFAULT_PREFERENCES: SyncPreferences = {
  applyReschedules: true,
  applyCancellations: true,
  applyDetails: true,
  applyAttendees: true,
  conflictPolicy: 'accept',
};

export type PreferenceSource = 'user' | 'team' | 'default';

export type PreferenceExplanation = {
  [K in PreferenceField]: { value: SyncPreferences[K]; source: PreferenceSource; teamId?: number };
};

/**
 * How restrictive a value is, for teams that disagree: `false` (do not apply) over `true`;
 * `revert` (never applies a conflicting move) over `flag` (applies it once someone accepts) over
 * `accept`.
 */
function restrictiveness(value: boolean | ConflictPolicy): number {
  if (typeof value === 'boolean') return value ? 0 : 1;
  return { accept: 0, flag: 1, revert: 2 }[value];
}

/**
 * Resolves each field on its own: the user's own value wins; without one, the teams' (the user's
 * teams and every parent team, all alike): when they disagree the most restrictive value wins, and
 * among equal values the lowest team id is named as the source (deterministic); without either, the
 * default.
 */
export function resolvePreferences(
  user: StoredPreferences | null,
  teams: Array<{ teamId: number; stored: StoredPreferences }>,
): PreferenceExplanation {
  const ordered = [...teams].sort((a, b) => a.teamId - b.teamId);
  const out = {} as Record<PreferenceField, { value: boolean | ConflictPolicy; source: PreferenceSource; teamId?: number }>;
  for (const field of PREFERENCE_FIELDS) {
    const own = user?.[field];
    if (own !== undefined && own !== null) {
      out[field] = { value: own, source: 'user' };
      continue;
    }
    let best: { value: boolean | ConflictPolicy; teamId: number } | null = null;
    for (const { teamId, stored } of ordered) {
      const value = stored[field];
      if (value === undefined || value === null) continue;
      if (!best || restrictiveness(value) > restrictiveness(best.value)) best = { value, teamId };
    }
    out[field] = best
      ? { value: best.value, source: 'team', teamId: best.teamId }
      : { value: DEFAULT_PREFERENCES[field], source: 'default' };
  }
  return out as PreferenceExplanation;
}

export function valuesOf(explained: PreferenceExplanation): SyncPreferences {
  return {
    applyReschedules: explained.applyReschedules.value,
    applyCancellations: explained.applyCancellations.value,
    applyDetails: explained.applyDetails.value,
    applyAttendees: explained.applyAttendees.value,
    conflictPolicy: explained.conflictPolicy.value,
  };
}
