export { IdempotencyKeyReusedError, InvalidIdempotencyKeyError, MAX_IDEMPOTENCY_KEY_LENGTH } from './idempotency.errors.js';
export { Idempotent, IdempotencyInterceptor } from './idempotency.interceptor.js';
export { IDEMPOTENCY_CLEANUP_JOB, IdempotencyCleanup, IdempotencyModule } from './idempotency.module.js';
export { IDEMPOTENCY_KEY_TTL_HOURS, IdempotencyStore } from './idempotency.store.js';
