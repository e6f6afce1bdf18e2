import { ApiProperty } from '@nestjs/swagger';
import { IsInt, IsNotEmpty, IsString, Max, MaxLength, Min } from 'class-validator';
import { MAX_ID } from '../../../common/validation/ids.js';

/** A provider calendar reached through one of the user's credentials. */
export class CalendarRefDto {
  @ApiProperty()
  @IsInt()
  @Min(1)
  @Max(MAX_ID)
  credentialId!: number;

  @ApiProperty({ description: 'The provider’s calendar id, e.g. the Google calendar id' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(1024)
  externalId!: string;
}
