import { ApiProperty } from '@nestjs/swagger';
import { IsInt, IsNotEmpty, IsString, Max, MaxLength, Min } from 'class-validator';

/** A provider calendar reached through one of the user's credentials. */
export class CalendarRefDto {
  @ApiProperty()
  @IsInt()
  @Min(1)
  @Max(2_147_483_647)
  credentialId!: number;

  @ApiProperty({ description: 'The provider’s calendar id, e.g. the Google calendar id' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(1024)
  externalId!: string;
}
