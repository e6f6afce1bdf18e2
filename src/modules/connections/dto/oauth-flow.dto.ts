import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsNotEmpty, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { MAX_ID } from '../../../common/validation/ids.js';

export class StartOAuthDto {
  @ApiProperty({ description: 'The signed-in user of your application the calendar is for' })
  @IsInt()
  @Min(1)
  @Max(MAX_ID)
  userId!: number;

  @ApiProperty({
    description: 'Where the browser comes back after consent; must start with one of OAUTH_RETURN_URLS',
    example: 'https://app.example.com/settings/calendars/connected',
  })
  @IsString()
  @IsNotEmpty()
  @MaxLength(2048)
  returnUrl!: string;

  @ApiPropertyOptional({ description: "The account to suggest on the provider's sign-in page" })
  @IsOptional()
  @IsString()
  @MaxLength(320)
  loginHint?: string;
}

export class CompleteOAuthDto {
  @ApiProperty({ description: 'The `code` calsync appended to your returnUrl' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  code!: string;

  @ApiProperty({ description: 'The user signed in to your application now; must be the one the flow was started for' })
  @IsInt()
  @Min(1)
  @Max(MAX_ID)
  userId!: number;
}
