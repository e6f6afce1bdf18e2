import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';
import { IsBoolean, IsIn, ValidateIf } from 'class-validator';
import { CONFLICT_POLICIES, type ConflictPolicy } from '../domain/resolve-preferences.js';

const SET = (value: unknown) => value !== undefined && value !== null;
const CLEARS = 'null clears the setting here (inherited again); absent leaves it as it is';

/** A PUT may send any subset of the fields; unknown fields are refused. */
export class UpdateSyncPreferencesDto {
  @ApiPropertyOptional({ type: Boolean, nullable: true, description: `apply event moves made in the calendar; ${CLEARS}` })
  @ValidateIf((_, v) => SET(v))
  @IsBoolean()
  applyReschedules?: boolean | null;

  @ApiPropertyOptional({ type: Boolean, nullable: true, description: `cancel the booking when its event is deleted; ${CLEARS}` })
  @ValidateIf((_, v) => SET(v))
  @IsBoolean()
  applyCancellations?: boolean | null;

  @ApiPropertyOptional({ type: Boolean, nullable: true, description: `apply title, description and location edits; ${CLEARS}` })
  @ValidateIf((_, v) => SET(v))
  @IsBoolean()
  applyDetails?: boolean | null;

  @ApiPropertyOptional({ type: Boolean, nullable: true, description: `apply guests added or removed; ${CLEARS}` })
  @ValidateIf((_, v) => SET(v))
  @IsBoolean()
  applyAttendees?: boolean | null;

  @ApiPropertyOptional({
    enum: CONFLICT_POLICIES,
    nullable: true,
    description: `what a conflicting calendar reschedule does; ${CLEARS}`,
  })
  @ValidateIf((_, v) => SET(v))
  @IsIn(CONFLICT_POLICIES)
  conflictPolicy?: ConflictPolicy | null;
}

@ApiSchema({
  name: 'SyncPreferences',
  description:
    "Effective sync preferences: for a user, the user's own values over their teams' over the defaults; " +
    'for a team, what a member who set nothing gets (the team and its parent teams, the most restrictive winning, over the defaults)',
})
export class SyncPreferencesResponse {
  @ApiProperty()
  applyReschedules!: boolean;

  @ApiProperty()
  applyCancellations!: boolean;

  @ApiProperty()
  applyDetails!: boolean;

  @ApiProperty()
  applyAttendees!: boolean;

  @ApiProperty({ enum: CONFLICT_POLICIES })
  conflictPolicy!: ConflictPolicy;
}

@ApiSchema({ name: 'SyncPreferenceBooleanSource', description: "A field's effective value and the level that decided it" })
export class BooleanPreferenceSource {
  @ApiProperty()
  value!: boolean;

  @ApiProperty({ enum: ['user', 'team', 'default'] })
  source!: string;

  @ApiPropertyOptional({ description: 'the team whose setting decided (source "team")' })
  teamId?: number;
}

@ApiSchema({ name: 'SyncPreferencePolicySource', description: 'The effective conflict policy and the level that decided it' })
export class PolicyPreferenceSource {
  @ApiProperty({ enum: CONFLICT_POLICIES })
  value!: ConflictPolicy;

  @ApiProperty({ enum: ['user', 'team', 'default'] })
  source!: string;

  @ApiPropertyOptional({ description: 'the team whose setting decided (source "team")' })
  teamId?: number;
}

@ApiSchema({
  name: 'SyncPreferencesExplanation',
  description: "A user's effective sync preferences, field by field, with where each comes from",
})
export class SyncPreferencesExplanationResponse {
  @ApiProperty({ type: BooleanPreferenceSource })
  applyReschedules!: BooleanPreferenceSource;

  @ApiProperty({ type: BooleanPreferenceSource })
  applyCancellations!: BooleanPreferenceSource;

  @ApiProperty({ type: BooleanPreferenceSource })
  applyDetails!: BooleanPreferenceSource;

  @ApiProperty({ type: BooleanPreferenceSource })
  applyAttendees!: BooleanPreferenceSource;

  @ApiProperty({ type: PolicyPreferenceSource })
  conflictPolicy!: PolicyPreferenceSource;
}
