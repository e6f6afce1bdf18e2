import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsIn, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { FEATURE_TYPES, type FeatureType } from '../entities/feature.entity.js';

export const FEATURE_SLUG = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
export const FEATURE_SLUG_MAX_LENGTH = 64;

export class CreateFeatureDto {
  @ApiProperty({ example: 'calendar-subscription-cache', maxLength: FEATURE_SLUG_MAX_LENGTH, pattern: FEATURE_SLUG.source })
  @IsString()
  @MaxLength(FEATURE_SLUG_MAX_LENGTH, { message: `slug must be at most ${FEATURE_SLUG_MAX_LENGTH} characters` })
  @Matches(FEATURE_SLUG, {
    message: 'slug must be lowercase letters and digits in words joined by single hyphens, e.g. calendar-subscription-cache',
  })
  slug!: string;

  @ApiProperty({ description: 'The global switch, used for users with no user or team assignment' })
  @IsBoolean()
  enabled!: boolean;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(1000)
  description?: string;

  @ApiPropertyOptional({ enum: FEATURE_TYPES, default: 'RELEASE' })
  @IsOptional()
  @IsIn(FEATURE_TYPES, { message: `type must be one of: ${FEATURE_TYPES.join(', ')}` })
  type?: FeatureType;
}
