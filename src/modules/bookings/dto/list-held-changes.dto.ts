import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';
import { PageQueryDto } from '../../../common/pagination/pagination.js';
import { HELD_CHANGES_STATUSES, type HeldChangesStatus } from '../held-changes/held-changes-view.js';

/** `GET /api/v1/admin/held-changes`: a page, optionally of one status; anything else is a 400. */
export class ListHeldChangesDto extends PageQueryDto {
  @ApiPropertyOptional({ enum: HELD_CHANGES_STATUSES })
  @IsOptional()
  @IsIn(HELD_CHANGES_STATUSES, { message: `status must be one of: ${HELD_CHANGES_STATUSES.join(', ')}` })
  status?: HeldChangesStatus;
}
