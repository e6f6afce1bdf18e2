import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import { QueryFailedError } from 'typeorm';
import { ProviderError } from '../../modules/providers/provider.errors.js';
import { DomainError, type DomainErrorKind } from './domain-error.js';
import { violatedUniqueConstraint } from './unique-violation.js';

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
};

/**
 * The one place errors become HTTP, in one shape for everything: `{statusCode, error, message}`.
 * Domain errors (each module's `<module>.errors.ts`) map by their kind; caller mistakes that slip
 * past validation (a reference to a missing row, a body Fastify could not parse) still get a 4xx.
 * A unique violation reaches this filter only when no module declared its constraint as a caller's
 * conflict (see `onUniqueViolation`): that is a bug, answered 500 and logged.
 */
@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpExceptionFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReplyLike>();
    const { status, message } = this.describe(exception);
    if (status >= 500) {
      const constraint = violatedUniqueConstraint(exception);
      if (constraint !== null) this.logger.error(`Unique violation of an undeclared constraint: "${constraint}"`);
      this.logger.error(exception instanceof Error ? (exception.stack ?? exception.message) : String(exception));
    }
    reply
      .status(status)
      .header('content-type', 'application/json; charset=utf-8')
      .send({ statusCode: status, error: reasonPhrase(status), message });
  }

  private describe(exception: unknown): { status: number; message: string | string[] } {
    if (exception instanceof DomainError) return { status: STATUS_OF[exception.kind], message: exception.message };
    if (exception instanceof HttpException) {
      const response = exception.getResponse();
      const message =
        typeof response === 'string' ? response : ((response as { message?: string | string[] }).message ?? exception.message);
      return { status: exception.getStatus(), message };
    }
    if (exception instanceof ProviderError) {
      if (exception.kind === 'auth_revoked') {
        return { status: HttpStatus.CONFLICT, message: 'The calendar account revoked access; connect it again' };
      }
      if (exception.kind === 'not_found') return { status: HttpStatus.NOT_FOUND, message: exception.message };
      if (exception.kind === 'bad_request') return { status: HttpStatus.BAD_REQUEST, message: exception.message };
      if (exception.kind === 'timeout') {
        return {
          status: HttpStatus.GATEWAY_TIMEOUT,
          message: `The calendar provider did not answer in time: ${exception.message}`,
        };
      }
      const status = exception.retryable ? HttpStatus.SERVICE_UNAVAILABLE : HttpStatus.BAD_GATEWAY;
      return { status, message: `The calendar provider failed: ${exception.message}` };
    }
    if (exception instanceof QueryFailedError) {
      const code = (exception as QueryFailedError & { code?: string }).code;
      if (code === '23503') return { status: HttpStatus.NOT_FOUND, message: 'A referenced record does not exist' };
      if (code === '22P02' || code === '22007' || code === '22008') {
        return { status: HttpStatus.BAD_REQUEST, message: 'A value has an invalid format' };
      }
    }
    const fastifyError = exception as { statusCode?: number; code?: string; message?: string };
    if (typeof fastifyError?.statusCode === 'number' && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
      if (fastifyError.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
        return { status: HttpStatus.PAYLOAD_TOO_LARGE, message: 'Request body is larger than 1 MiB' };
      }
      if (fastifyError.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
        return { status: HttpStatus.UNSUPPORTED_MEDIA_TYPE, message: 'Send the body as application/json' };
      }
      return { status: fastifyError.statusCode, message: `Invalid request: ${fastifyError.message ?? 'malformed body'}` };
    }
    return { status: HttpStatus.INTERNAL_SERVER_ERROR, message: 'Internal server error' };
  }
}

function reasonPhrase(status: number): string {
  const name = HttpStatus[status];
  return name
    ? name
        .split('_')
        .map((w) => w[0] + w.slice(1).toLowerCase())
        .join(' ')
    : 'Error';
}
