import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import { QueryFailedError } from 'typeorm';
import { logLine } from '../../infrastructure/logging/logging.js';
import { ProviderError } from '../../modules/providers/provider.errors.js';
import { DomainError, type DomainErrorKind } from './domain-error.js';
import {
  type FieldProblem,
  PROBLEM_CONTENT_TYPE_HEADER,
  ProblemException,
  ValidationFailedException,
  codeForStatus,
  problemBody,
} from './problem.js';
import { violatedUniqueConstraint } from './unique-violation.js';
import { BODY_TOO_DEEP, NUL_IN_BODY, UNSUPPORTED_CONTENT_ENCODING } from '../http/json-body.js';
import { NUL_DETAIL } from '../validation/nul.js';

interface FastifyReplyLike {
  status(code: number): FastifyReplyLike;
  header(name: string, value: string): FastifyReplyLike;
  send(body: unknown): void;
}

const STATUS_OF: Record<DomainErrorKind, HttpStatus> = {
  invalid: HttpStatus.BAD_REQUEST,
  forbidden: HttpStatus.FORBIDDEN,
  not_found: HttpStatus.NOT_FOUND,
  conflict: HttpStatus.CONFLICT,
  unprocessable: HttpStatus.UNPROCESSABLE_ENTITY,
};

const DATABASE_UNAVAILABLE = 'database_unavailable';
const DATABASE_RETRY_AFTER_SECONDS = 2;
/**
 * PostgreSQL's codes for a server that cannot serve now, whatever the statement: too many
 * connections, shutting down (admin, crash), starting up, and the connection exceptions (class 08).
 */
const UNAVAILABLE_SQLSTATES = new Set(['53300', '57P01', '57P02', '57P03']);
/** Socket errors and pg's own messages for a connection that could not be opened or was cut. */
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND']);
const CUT_CONNECTION =
  /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error)/;
/**
 * TypeORM's word for a statement on a connection it already let go: a connection killed between two
 * statements of a request (a failover, `pg_terminate_backend`) reports its error in between, and
 * TypeORM releases it, so the next statement says this instead of the server's code.
 */
const RELEASED_RUNNER = new Set(['QueryRunnerAlreadyReleasedError', 'QueryRunnerProviderAlreadyReleasedError']);

/**
 * Whether `exception` says the database could not be reached or could not serve, as opposed to a
 * statement it refused: the caller did nothing wrong and a retry may succeed, so the answer is a
 * 503 with `Retry-After`, not a 500. (Provider failures are `ProviderError`s, told apart before.)
 */
function databaseUnavailable(exception: unknown): boolean {
  if (typeof exception !== 'object' || exception === null) return false;
  const error = exception as {
    name?: unknown;
    code?: unknown;
    message?: unknown;
    driverError?: { code?: unknown; message?: unknown };
  };
  if (typeof error.name === 'string' && RELEASED_RUNNER.has(error.name)) return true;
  const code =
    typeof error.code === 'string' ? error.code : typeof error.driverError?.code === 'string' ? error.driverError.code : '';
  if (UNAVAILABLE_SQLSTATES.has(code) || code.startsWith('08') || UNREACHABLE_CODES.has(code)) return true;
  const message = typeof error.message === 'string' ? error.message : '';
  return CUT_CONNECTION.test(message);
}

interface FastifyErrorLike {
  statusCode?: number;
  code?: string;
  message?: string;
}

interface Described {
  status: number;
  /** Seconds for `Retry-After` (an answer worth retrying as it is). */
  retryAfter?: number;
  code: string;
  detail: string;
  errors?: FieldProblem[];
}

/**
 * The one place errors become HTTP, in one shape for everything: RFC 9457 problem+json
 * `{type, title, status, detail, code, errors?, requestId}` (see problem.ts).
 * Domain errors (each module's `<module>.errors.ts`) map by their kind and carry their own `code`;
 * caller mistakes that slip past validation (a reference to a missing row, a body Fastify could
 * not parse) still get a 4xx. A unique violation reaches this filter only when no module declared
 * its constraint as a caller's conflict (see `onUniqueViolation`): that is a bug, answered 500
 * and logged. Every 5xx is logged with its stack; the answer never shows internals.
 */
@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpExceptionFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const reply = http.getResponse<FastifyReplyLike>();
    const requestId = requestIdOf(http.getRequest<unknown>());
    const described = this.describe(exception);
    if (described.code === DATABASE_UNAVAILABLE) {
      // One line, no stack: an outage answers every request so, and its cause is logged by the pools.
      const message = exception instanceof Error ? exception.message : String(exception);
      this.logger.warn(logLine(`Database unavailable, answered 503: ${message}`, requestId ? { reqId: requestId } : undefined));
    } else if (described.status >= 500) {
      const constraint = violatedUniqueConstraint(exception);
      const fields = requestId ? { reqId: requestId } : undefined;
      if (constraint !== null)
        this.logger.error(logLine(`Unique violation of an undeclared constraint: "${constraint}"`, fields));
      const trace = exception instanceof Error ? (exception.stack ?? exception.message) : String(exception);
      this.logger.error(logLine(trace, fields));
    } else if (exception instanceof QueryFailedError) {
      // A database refusal answered as the caller's mistake (the net under the edge checks): the
      // statement is in the query logger's line; this one ties it to the request. No values.
      const code = (exception as QueryFailedError & { code?: string }).code;
      this.logger.warn(
        logLine(
          `Database error ${code} answered ${described.status} ${described.code}`,
          requestId ? { reqId: requestId } : undefined,
        ),
      );
    }
    const body = problemBody(described.status, described.detail, requestId, described.code, described.errors);
    reply.status(described.status).header('content-type', PROBLEM_CONTENT_TYPE_HEADER);
    if (described.retryAfter !== undefined) reply.header('retry-after', String(described.retryAfter));
    if (requestId) reply.header('x-request-id', requestId);
    reply.send(body);
  }

  private describe(exception: unknown): Described {
    if (exception instanceof DomainError) {
      return { status: STATUS_OF[exception.kind], code: exception.code, detail: exception.message };
    }
    if (exception instanceof ValidationFailedException) {
      return { status: HttpStatus.BAD_REQUEST, code: exception.code, detail: exception.message, errors: exception.errors };
    }
    // Nest's Fastify adapter wraps Fastify's own 4xx errors (body too large, unsupported media type)
    // in an HttpException; the original, with its code, is the cause.
    const fastifyError = (exception instanceof HttpException ? exception.cause : exception) as FastifyErrorLike | null;
    if (typeof fastifyError?.statusCode === 'number' && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
      return describeFastifyError(fastifyError.statusCode, fastifyError.code, fastifyError.message);
    }
    if (exception instanceof HttpException) return describeHttpException(exception);
    if (exception instanceof ProviderError) return describeProviderError(exception);
    if (databaseUnavailable(exception)) {
      return {
        status: HttpStatus.SERVICE_UNAVAILABLE,
        code: DATABASE_UNAVAILABLE,
        detail: 'The database is unavailable for the moment (restarting, failing over or out of connections); retry shortly',
        retryAfter: DATABASE_RETRY_AFTER_SECONDS,
      };
    }
    if (exception instanceof QueryFailedError) {
      const code = (exception as QueryFailedError & { code?: string }).code;
      if (code === '23503') {
        return {
          status: HttpStatus.NOT_FOUND,
          code: 'referenced_record_not_found',
          detail: 'A referenced record does not exist',
        };
      }
      if (code === '22P02' || code === '22007' || code === '22008') {
        return { status: HttpStatus.BAD_REQUEST, code: 'invalid_format', detail: 'A value has an invalid format' };
      }
      // The edges check ids and bodies first (ids, cursors, the JSON parser); these are the net
      // under them, for a value that reached the database from a path or query parameter.
      if (code === '22003') {
        return { status: HttpStatus.BAD_REQUEST, code: 'value_out_of_range', detail: 'A number is out of range' };
      }
      if (code === '22021' || code === '22P05') {
        return { status: HttpStatus.BAD_REQUEST, code: 'nul_character', detail: NUL_DETAIL };
      }
    }
    return { status: HttpStatus.INTERNAL_SERVER_ERROR, code: 'internal_error', detail: 'Internal server error' };
  }
}

function describeHttpException(exception: HttpException): Described {
  const status = exception.getStatus();
  const response = exception.getResponse();
  const fields = typeof response === 'object' && response !== null ? (response as Record<string, unknown>) : {};
  const raw = typeof response === 'string' ? response : (fields.detail ?? fields.message ?? exception.message);
  // Nest's own pipes may answer with a list of messages; the answer always has one readable string.
  const detail = Array.isArray(raw) ? raw.map(String).join('; ') : String(raw);
  const code =
    exception instanceof ProblemException
      ? exception.code
      : typeof fields.code === 'string' && /^[a-z][a-z0-9_]*$/.test(fields.code)
        ? fields.code
        : codeForStatus(status);
  // A 5xx raised on purpose still says nothing about internals beyond its own message.
  return { status, code, detail: status >= 500 && !detail ? 'Internal server error' : detail };
}

function describeProviderError(exception: ProviderError): Described {
  switch (exception.kind) {
    case 'auth_revoked':
      return {
        status: HttpStatus.CONFLICT,
        code: 'calendar_access_revoked',
        detail: 'The calendar account revoked access; connect it again',
      };
    case 'not_found':
      return { status: HttpStatus.NOT_FOUND, code: 'provider_not_found', detail: exception.message };
    case 'bad_request':
      return { status: HttpStatus.BAD_REQUEST, code: 'provider_rejected_request', detail: exception.message };
    case 'timeout':
      return {
        status: HttpStatus.GATEWAY_TIMEOUT,
        code: 'provider_timeout',
        detail: `The calendar provider did not answer in time: ${exception.message}`,
      };
    default:
      return exception.retryable
        ? {
            status: HttpStatus.SERVICE_UNAVAILABLE,
            code: 'provider_unavailable',
            detail: `The calendar provider failed: ${exception.message}`,
          }
        : {
            status: HttpStatus.BAD_GATEWAY,
            code: 'provider_failed',
            detail: `The calendar provider failed: ${exception.message}`,
          };
  }
}

function describeFastifyError(status: number, code: string | undefined, message: string | undefined): Described {
  if (code === UNSUPPORTED_CONTENT_ENCODING) {
    return {
      status: HttpStatus.UNSUPPORTED_MEDIA_TYPE,
      code: 'unsupported_media_type',
      detail: message ?? 'Send the body uncompressed',
    };
  }
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return { status: HttpStatus.PAYLOAD_TOO_LARGE, code: 'payload_too_large', detail: 'Request body is larger than 1 MiB' };
  }
  if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || status === HttpStatus.UNSUPPORTED_MEDIA_TYPE) {
    return {
      status: HttpStatus.UNSUPPORTED_MEDIA_TYPE,
      code: 'unsupported_media_type',
      detail: 'Send the body as application/json (Content-Type: application/json)',
    };
  }
  if (code === NUL_IN_BODY) return { status: HttpStatus.BAD_REQUEST, code: 'nul_character', detail: message ?? NUL_DETAIL };
  if (code === BODY_TOO_DEEP)
    return { status: HttpStatus.BAD_REQUEST, code: 'body_too_deep', detail: message ?? 'Body is nested too deeply' };
  if (code === 'FST_ERR_CTP_INVALID_JSON_BODY' || /JSON/.test(message ?? '')) {
    return { status, code: 'invalid_json', detail: message ?? 'Body is not valid JSON' };
  }
  return { status, code: codeForStatus(status), detail: `Invalid request: ${message ?? 'malformed body'}` };
}

/** The Fastify request id (see `requestIdFrom` in bootstrap), or '' when there is no request. */
function requestIdOf(request: unknown): string {
  const id = (request as { id?: unknown } | undefined)?.id;
  return typeof id === 'string' ? id : id === undefined || id === null ? '' : String(id);
}
