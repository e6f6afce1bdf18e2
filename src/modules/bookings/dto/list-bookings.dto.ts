import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, Matches } from 'class-validator';

export class ListBookingsDto {
  @ApiPropertyOptional()
  @IsOptional()
  @Matches(/^[1-9]\d{0,9}$/, { message: 'userId must be a positive integer' })
  userId?: string;

  @ApiPropertyOptional({ enum: ['accepted', 'cancelled'] })
  @IsOptional()
  @IsIn(['accepted', 'cancelled'], { message: 'status must be accepted or cancelled' })
  status?: 'accepted' | 'cancelled';
}
