import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsEmail,
  IsInt,
  IsNotEmpty,
  IsObject,
  IsOptional,
  IsString,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';
import { IsAfter, IsInstant, IsNotInPast } from '../../../common/validation/validators.js';
import { MAX_ID } from '../../../common/validation/ids.js';

export class AttendeeDto {
  @ApiProperty()
  @IsEmail()
  @MaxLength(320)
  email!: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(200)
  name?: string;
}

export class CreateBookingDto {
  @ApiProperty()
  @IsInt()
  @Min(1)
  @Max(MAX_ID)
  userId!: number;

  @ApiProperty()
  @IsString()
  @IsNotEmpty()
  @MaxLength(500)
  title!: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(8000)
  description?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(1000)
  location?: string;

  @ApiProperty({ example: '2026-12-01T10:00:00.000Z' })
  @IsInstant()
  @IsNotInPast('a booking', 'booking_in_past')
  startTime!: string;

  @ApiProperty({ example: '2026-12-01T10:30:00.000Z' })
  @IsInstant()
  @IsAfter('startTime')
  endTime!: string;

  @ApiProperty({ type: [AttendeeDto] })
  @IsArray()
  @ArrayMaxSize(200)
  // Each one an object: ValidateNested alone walks into an inner array ([[]] passed, then failed as a 500).
  @IsObject({ each: true, message: 'each attendee must be an object {email, name?}' })
  @ValidateNested({ each: true })
  @Type(() => AttendeeDto)
  attendees!: AttendeeDto[];
}
