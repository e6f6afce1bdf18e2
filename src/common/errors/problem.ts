import { BadRequestException, HttpException, HttpStatus } from '@nestjs/common';

/** The media type of every error answer (RFC 9457). */
export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** One field's problem in a validation failure. `field` is a dotted path (`attendees.0.email`). */
export interface FieldProblem {
  field: string;
  message: string;
}

/**
 * The body of every error answer: RFC 9457 problem details plus two extension members.
 * `type` is always `about:blank` (so `title` is the HTTP status phrase, as RFC 9457 §4.2.1 asks);
 * clients branch on `code`, the stable machine-readable snake_case identifier of the problem.
 */
export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  errors?: FieldProblem[];
  requestId: string;
}

/** The `content-type` of every error answer. */
export const PROBLEM_CONTENT_TYPE_HEADER = `${PROBLEM_CONTENT_TYPE}; charset=utf-8`;

/**
 * The body of an error answer, wherever it is written (the exception filter, and the Fastify hooks
 * and handlers that answer before Nest's filters can: the key check, the request time bound, the
 * refusals before any route). `code` defaults to the status's.
 */
export function problemBody(
  status: number,
  detail: string,
  requestId: string,
  code: string = codeForStatus(status),
  errors?: FieldProblem[],
): ProblemDetails {
  return { type: 'about:blank', title: reasonPhrase(status), status, detail, code, ...(errors ? { errors } : {}), requestId };
}

/**
 * Thrown by the validation pipe: a 400 with one entry per field problem (answered with
 * `code: validation_failed`, or the rule's own code, and `errors`).
 */
export class ValidationFailedException extends BadRequestException {
  constructor(
    readonly errors: FieldProblem[],
    readonly code = 'validation_failed',
  ) {
    super(summarise(errors));
  }
}

function summarise(errors: FieldProblem[]): string {
  if (errors.length === 0) return 'The request is invalid';
  const list = errors.map((e) => e.message).join('; ');
  return errors.length === 1 ? `Invalid request: ${list}` : `${errors.length} problems in the request: ${list}`;
}

/**
 * An HTTP error with its own stable `code`, for controllers, guards and pipes (handlers throw
 * `DomainError`s instead). Nest's own exceptions still work: their `code` is derived from the status.
 */
export class ProblemException extends HttpException {
  constructor(
    status: HttpStatus,
    readonly code: string,
    detail: string,
  ) {
    super(detail, status);
  }
}

/** The `code` for an HTTP error that carries none of its own. */
export function codeForStatus(status: number): string {
  const known: Record<number, string> = {
    400: 'bad_request',
    401: 'unauthorized',
    403: 'forbidden',
    404: 'not_found',
    405: 'method_not_allowed',
    406: 'not_acceptable',
    409: 'conflict',
    410: 'gone',
    412: 'precondition_failed',
    413: 'payload_too_large',
    415: 'unsupported_media_type',
    422: 'unprocessable_content',
    428: 'precondition_required',
    429: 'too_many_requests',
    500: 'internal_error',
    501: 'not_implemented',
    502: 'bad_gateway',
    503: 'service_unavailable',
    504: 'gateway_timeout',
  };
  return known[status] ?? (status >= 500 ? 'internal_error' : 'bad_request');
}

/** `404` → `Not Found`. */
export function reasonPhrase(status: number): string {
  const name = HttpStatus[status];
  if (status === 413) return 'Content Too Large';
  if (status === 422) return 'Unprocessable Content';
  return name
    ? name
        .split('_')
        .map((w) => w[0] + w.slice(1).toLowerCase())
        .join(' ')
    : 'Error';
}
