import {
  type CallHandler,
  type ExecutionContext,
  Inject,
  Injectable,
  type NestInterceptor,
  ServiceUnavailableException,
} from '@nestjs/common';
import { type Observable, TimeoutError, catchError, throwError, timeout } from 'rxjs';
import { APP_CONFIG, type AppConfig } from '../../config/app-config.js';

/**
 * Bounds every request handled by a controller to `REQUEST_TIMEOUT_MS`: a request still running then
 * (a provider answering slowly but within its own timeout, retries after 429s, a lock held by a
 * long transaction) is answered 503 with `Retry-After`, so a caller is never left waiting on an open
 * connection. The work already under way is not torn down half-way (a transaction commits or rolls
 * back as a whole); a retry with the same `Idempotency-Key` gets its answer if it completed.
 * Nest interceptors are the framework's way to wrap a handler's result; Fastify's own
 * `connectionTimeout`/`requestTimeout` only bound reading the request, not handling it.
 */
@Injectable()
export class RequestTimeoutInterceptor implements NestInterceptor {
  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const ms = this.config.requestTimeoutMs;
    return next.handle().pipe(
      timeout(ms),
      catchError((error: unknown) => {
        if (!(error instanceof TimeoutError)) return throwError(() => error);
        const reply = context.switchToHttp().getResponse<{ header?: (name: string, value: string) => unknown }>();
        reply.header?.('retry-after', '1');
        return throwError(
          () =>
            new ServiceUnavailableException(
              `The request did not complete within REQUEST_TIMEOUT_MS (${ms} ms); it may still complete. Retry it (with the same Idempotency-Key for writes).`,
            ),
        );
      }),
    );
  }
}
