/** Who a flag is assigned to, besides its global switch. */
export type AssignmentScope = 'user' | 'team';

/** A row of "UserFeatures" (`userId`) or "TeamFeatures" (`teamId`). */
export interface FeatureAssignment {
  featureId: string;
  userId?: number;
  teamId?: number;
  enabled: boolean;
  /** The first assignment; kept when the assignment is changed later. */
  assignedAt: Date;
  /** Who made the last change. */
  assignedBy: string;
  updatedAt: Date;
}
