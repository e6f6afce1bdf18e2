import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';
import { PageQueryDto } from '../../../common/pagination/pagination.js';
import { IsIdString, IsInstant } from '../../../common/validation/validators.js';

export class ListBookingsDto extends PageQueryDto {
  @ApiPropertyOptional()
  @IsOptional()
  @IsIdString()
  userId?: string;

  @ApiPropertyOptional({ enum: ['accepted', 'cancelled'] })
  @IsOptional()
  @IsIn(['accepted', 'cancelled'], { message: 'status must be accepted or cancelled' })
  status?: 'accepted' | 'cancelled';

  @ApiPropertyOptional({
    description: 'only bookings changed at or after this instant (ISO 8601)',
    example: '2026-12-01T10:00:00.000Z',
  })
  @IsOptional()
  @IsInstant()
  updatedSince?: string;
}
