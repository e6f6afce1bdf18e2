import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, ValidateIf } from 'class-validator';

/** The body may be empty: an assignment turns the flag on unless it says otherwise. */
export class AssignFeatureDto {
  @ApiPropertyOptional({ default: true, description: 'false turns the flag off for this user or team' })
  // Absent means true; an explicit null is a mistake, not a default.
  @ValidateIf((_, value) => value !== undefined)
  @IsBoolean()
  enabled?: boolean;
}
