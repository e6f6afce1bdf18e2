import { ApiProperty } from '@nestjs/swagger';
import { IsBoolean } from 'class-validator';

export class UpdateFeatureDto {
  @ApiProperty({ description: 'The global switch' })
  @IsBoolean()
  enabled!: boolean;
}
