import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';
import { DATE_TIME, NULLABLE_DATE_TIME } from '../../../common/openapi/responses.js';
import { FEATURE_TYPES, type FeatureType } from '../entities/feature.entity.js';

/** OpenAPI schemas of what the feature flag admin routes answer. */

@ApiSchema({ name: 'FeatureFlag' })
export class FeatureResponse {
  @ApiProperty({ example: 'calendar-subscription-cache' })
  slug!: string;

  @ApiProperty({ description: 'the global switch' })
  enabled!: boolean;

  @ApiProperty({ type: String, nullable: true })
  description!: string | null;

  @ApiProperty({ enum: FEATURE_TYPES })
  type!: FeatureType;

  @ApiProperty()
  stale!: boolean;

  @ApiProperty(NULLABLE_DATE_TIME)
  lastUsedAt!: Date | null;

  @ApiProperty(DATE_TIME)
  createdAt!: Date;

  @ApiProperty(DATE_TIME)
  updatedAt!: Date;

  @ApiProperty({ type: String, nullable: true })
  updatedBy!: string | null;
}

@ApiSchema({ name: 'FeatureFlagExplanation', description: 'Whether a flag is on for a user, and which level decided' })
export class FeatureExplanationResponse {
  @ApiProperty()
  enabled!: boolean;

  @ApiProperty({ enum: ['user', 'team', 'global'] })
  reason!: string;
}

@ApiSchema({ name: 'FeatureFlagAssignment', description: 'A flag assigned to a user (userId) or a team (teamId)' })
export class FeatureAssignmentResponse {
  @ApiProperty({ description: 'the flag slug' })
  featureId!: string;

  @ApiPropertyOptional()
  userId?: number;

  @ApiPropertyOptional()
  teamId?: number;

  @ApiProperty()
  enabled!: boolean;

  @ApiProperty(DATE_TIME)
  assignedAt!: Date;

  @ApiProperty()
  assignedBy!: string;

  @ApiProperty(DATE_TIME)
  updatedAt!: Date;
}
