import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';
import type { FieldProblem, ProblemDetails } from './problem.js';

/** The OpenAPI schema of one field problem (see problem.ts). */
@ApiSchema({ name: 'FieldProblem' })
export class FieldProblemSchema implements FieldProblem {
  @ApiProperty({ description: 'dotted path of the field', example: 'attendees.0.email' })
  field!: string;

  @ApiProperty({ example: 'attendees.0.email must be an email' })
  message!: string;
}

/** The OpenAPI schema of every error answer: RFC 9457 problem details (see problem.ts). */
@ApiSchema({ name: 'Problem', description: 'RFC 9457 problem details, sent as application/problem+json' })
export class ProblemSchema implements ProblemDetails {
  @ApiProperty({ description: 'always about:blank; branch on `code`', example: 'about:blank' })
  type!: string;

  @ApiProperty({ description: 'the HTTP status phrase', example: 'Bad Request' })
  title!: string;

  @ApiProperty({ description: 'the HTTP status code', example: 400 })
  status!: number;

  @ApiProperty({ description: 'what went wrong, for people', example: 'Invalid request: attendees is required' })
  detail!: string;

  @ApiProperty({
    description:
      'stable machine-readable snake_case code, e.g. validation_failed, booking_not_found, booking_in_past, ' +
      'unsupported_media_type, payload_too_large, provider_timeout, database_unavailable, internal_error',
    example: 'validation_failed',
  })
  code!: string;

  @ApiPropertyOptional({ type: [FieldProblemSchema], description: 'one entry per invalid field (validation failures only)' })
  errors?: FieldProblemSchema[];

  @ApiProperty({ description: 'the request id, also in the x-request-id header; quote it when reporting a problem' })
  requestId!: string;
}
