import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, Matches } from 'class-validator';
import { PageQueryDto } from '../../../common/pagination/pagination.js';
import { IsInstant } from '../../../common/validation/validators.js';

export class ListBookingsDto extends PageQueryDto {
  @ApiPropertyOptional()
  @IsOptional()
  @Matches(/^[1-9]\d{0,9}$/, { message: 'userId must be a positive integer' })
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
