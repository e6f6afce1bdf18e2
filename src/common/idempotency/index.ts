export { IdempotencyKeyReusedError, InvalidIdempotencyKeyError, MAX_IDEMPOTENCY_KEY_LENGTH } from './idempotency.errors.js';
export { Idempotent, IdempotencyInterceptor, IdempotencyTicketOf } from './idempotency.interceptor.js';
export { IDEMPOTENCY_CLEANUP_JOB, IdempotencyCleanup, IdempotencyModule } from './idempotency.module.js';
export { IDEMPOTENCY_KEY_TTL_HOURS, type IdempotencyTicket, IdempotencyStore } from './idempotency.store.js';
