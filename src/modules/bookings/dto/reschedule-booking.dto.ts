import { ApiProperty } from '@nestjs/swagger';
import { IsAfter, IsInstant, IsNotInPast } from '../../../common/validation/validators.js';

export class RescheduleBookingDto {
  @ApiProperty()
  @IsInstant()
  @IsNotInPast('a rescheduled booking', 'booking_in_past')
  startTime!: string;

  @ApiProperty()
  @IsInstant()
  @IsAfter('startTime')
  endTime!: string;
}
