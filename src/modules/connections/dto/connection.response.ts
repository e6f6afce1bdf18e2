import { ApiProperty, ApiSchema } from '@nestjs/swagger';
import { DATE_TIME, NULLABLE_DATE_TIME } from '../../../common/openapi/responses.js';
import type { ProviderName } from '../../../config/app-config.js';
import { PROVIDER_NAMES } from '../../providers/provider-names.js';

/** OpenAPI schemas of what the connections routes answer. */

@ApiSchema({ name: 'Credential', description: 'A connected calendar account (its tokens are never shown)' })
export class CredentialResponse {
  @ApiProperty()
  id!: number;

  @ApiProperty()
  userId!: number;

  @ApiProperty({ enum: PROVIDER_NAMES })
  provider!: ProviderName;

  @ApiProperty({ enum: ['active', 'invalid'] })
  status!: 'active' | 'invalid';

  @ApiProperty({ type: String, nullable: true })
  invalidReason!: string | null;

  @ApiProperty(DATE_TIME)
  createdAt!: Date;
}

@ApiSchema({ name: 'ProviderCalendar', description: 'A calendar as the provider lists it' })
export class ProviderCalendarResponse {
  @ApiProperty({ description: 'the externalId to select it by' })
  id!: string;

  @ApiProperty()
  name!: string;

  @ApiProperty()
  primary!: boolean;

  @ApiProperty({ type: String, nullable: true })
  timeZone!: string | null;

  @ApiProperty({ type: String, nullable: true })
  accessRole!: string | null;
}

@ApiSchema({ name: 'SelectedCalendar', description: 'A calendar whose busy times and changes calsync follows' })
export class SelectedCalendarResponse {
  @ApiProperty()
  id!: number;

  @ApiProperty()
  userId!: number;

  @ApiProperty()
  credentialId!: number;

  @ApiProperty({ enum: PROVIDER_NAMES })
  integration!: ProviderName;

  @ApiProperty()
  externalId!: string;

  @ApiProperty({ description: 'whether its events count as busy' })
  busySource!: boolean;

  @ApiProperty({ type: String, nullable: true })
  channelId!: string | null;

  @ApiProperty(NULLABLE_DATE_TIME)
  channelExpiration!: Date | null;

  @ApiProperty(NULLABLE_DATE_TIME)
  syncSubscribedAt!: Date | null;

  @ApiProperty(NULLABLE_DATE_TIME)
  syncedAt!: Date | null;

  @ApiProperty(NULLABLE_DATE_TIME)
  syncErrorAt!: Date | null;

  @ApiProperty()
  syncErrorCount!: number;

  @ApiProperty({ type: String, nullable: true })
  lastError!: string | null;
}

@ApiSchema({ name: 'DestinationCalendar', description: 'Where new bookings of the user are written' })
export class DestinationCalendarResponse {
  @ApiProperty()
  userId!: number;

  @ApiProperty()
  credentialId!: number;

  @ApiProperty()
  externalId!: string;

  @ApiProperty({ enum: PROVIDER_NAMES })
  provider!: ProviderName;

  @ApiProperty()
  selectedCalendarId!: number;
}
