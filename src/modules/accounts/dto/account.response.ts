import { ApiProperty, ApiSchema } from '@nestjs/swagger';
import { DATE_TIME } from '../../../common/openapi/responses.js';

/** OpenAPI schemas of what the users and teams routes answer. */

@ApiSchema({ name: 'User' })
export class UserResponse {
  @ApiProperty()
  id!: number;

  @ApiProperty()
  email!: string;

  @ApiProperty({ type: String, nullable: true })
  name!: string | null;

  @ApiProperty({ example: 'Europe/Berlin' })
  timeZone!: string;

  @ApiProperty(DATE_TIME)
  createdAt!: Date;
}

@ApiSchema({ name: 'Team' })
export class TeamResponse {
  @ApiProperty()
  id!: number;

  @ApiProperty()
  name!: string;

  @ApiProperty({ type: Number, nullable: true })
  parentId!: number | null;

  @ApiProperty(DATE_TIME)
  createdAt!: Date;
}
