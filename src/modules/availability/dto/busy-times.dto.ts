import { ApiProperty } from '@nestjs/swagger';
import { IsAfter, IsInstant } from '../../../common/validation/validators.js';

export class BusyTimesQueryDto {
  @ApiProperty({ example: '2026-12-01T00:00:00.000Z' })
  @IsInstant()
  start!: string;

  @ApiProperty({ example: '2026-12-31T00:00:00.000Z' })
  @IsInstant()
  @IsAfter('start', { message: 'end must be after start' })
  end!: string;
}
