import { ApiProperty } from '@nestjs/swagger';
import { IsIn, IsNotEmpty, IsString, MaxLength } from 'class-validator';
import type { ProviderName } from '../../../config/app-config.js';
import { PROVIDER_NAMES } from '../../providers/provider-names.js';
import { IsInstant } from '../../../common/validation/validators.js';

export class CreateCredentialDto {
  @ApiProperty({ enum: PROVIDER_NAMES })
  @IsIn([...PROVIDER_NAMES], { message: `provider must be one of: ${PROVIDER_NAMES.join(', ')}` })
  provider!: ProviderName;

  @ApiProperty()
  @IsString()
  @IsNotEmpty()
  @MaxLength(8192)
  accessToken!: string;

  @ApiProperty()
  @IsString()
  @IsNotEmpty()
  @MaxLength(8192)
  refreshToken!: string;

  @ApiProperty({ example: '2026-12-01T10:00:00.000Z' })
  @IsInstant()
  expiresAt!: string;
}
