import { ApiProperty } from '@nestjs/swagger';
import { IsAfter, IsInstant } from '../../../common/validation/validators.js';

export class RescheduleBookingDto {
  @ApiProperty()
  @IsInstant()
  startTime!: string;

  @ApiProperty()
  @IsInstant()
  @IsAfter('startTime')
  endTime!: string;
}
