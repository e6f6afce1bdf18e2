import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsEmail, IsInt, IsOptional, IsString, MaxLength, Min, Max } from 'class-validator';
import { IsTimeZone } from '../../../common/validation/validators.js';
import { MAX_ID } from '../../../common/validation/ids.js';

export class CreateUserDto {
  @ApiPropertyOptional({ description: 'Reuse your own application user id' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_ID)
  id?: number;

  @ApiProperty()
  @IsEmail()
  @MaxLength(320)
  email!: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(200)
  name?: string;

  @ApiProperty({ example: 'Europe/Berlin' })
  @IsTimeZone()
  timeZone!: string;
}
