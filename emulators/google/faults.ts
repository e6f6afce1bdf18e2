import { ApiError } from './errors.js';

/** Switches tests flip to make the emulator misbehave the way Google does now and then. */
export interface GoogleFaults {
  failNext(input: {
    count?: number;
    operation?: string;
    status: number;
    reason?: string;
    message?: string;
    retryAfterSeconds?: number;
    delayMs?: number;
    /** Let this many matching calls through first (e.g. 1: fail a listing's second page, not its first). */
    skip?: number;
  }): void;
  slowNext(input: { count?: number; operation?: string; delayMs: number; skip?: number }): void;
  invalidateSyncTokens(calendarId: string): void;
  dropNextPushes(count: number, channelId?: string): void;
  duplicateNextPushes(count: number, copies: number): void;
  delayPushes(ms: number): void;
  holdPushes(): void;
  releasePushes(opts?: { reverse?: boolean }): Promise<void>;
  skipMessageNumbers(n: number): void;
  syncBeforeWatchResponse(on: boolean): void;
  clear(): void;
}

interface FailRule {
  remaining: number;
  skip: number;
  operation?: string;
  error: ApiError;
  delayMs: number;
}

interface SlowRule {
  remaining: number;
  skip: number;
  operation?: string;
  delayMs: number;
}

interface DropRule {
  remaining: number;
  channelId?: string;
}

const DEFAULT_REASONS: Record<number, string> = {
  400: 'invalid',
  401: 'authError',
  403: 'rateLimitExceeded',
  404: 'notFound',
  409: 'duplicate',
  410: 'fullSyncRequired',
  412: 'conditionNotMet',
  429: 'rateLimitExceeded',
  500: 'backendError',
  502: 'backendError',
  503: 'backendError',
  504: 'backendError',
};

const DEFAULT_MESSAGES: Record<string, string> = {
  rateLimitExceeded: 'Rate Limit Exceeded',
  userRateLimitExceeded: 'User Rate Limit Exceeded',
  quotaExceeded: 'Calendar usage limits exceeded.',
  backendError: 'Backend Error',
  fullSyncRequired: 'Sync token is no longer valid, a full sync is required.',
  authError: 'Invalid Credentials',
  notFound: 'Not Found',
};

export interface FaultHooks {
  invalidateSyncTokens(calendarId: string): void;
  releasePushes(reverse: boolean): Promise<void>;
}

export class FaultState implements GoogleFaults {
  private failRules: FailRule[] = [];
  private slowRules: SlowRule[] = [];
  private dropRules: DropRule[] = [];
  private duplicate = { remaining: 0, copies: 1 };
  pushDelayMs = 0;
  holding = false;
  private pendingSkip = 0;
  syncFirst = false;

  constructor(private readonly hooks: FaultHooks) {}

  failNext(input: Parameters<GoogleFaults['failNext']>[0]): void {
    if (!Number.isInteger(input.status) || input.status < 400 || input.status > 599) {
      throw new Error(`failNext needs an error status (4xx/5xx), got ${input.status}`);
    }
    const reason = input.reason ?? DEFAULT_REASONS[input.status] ?? 'backendError';
    const message = input.message ?? DEFAULT_MESSAGES[reason] ?? reason;
    this.failRules.push({
      remaining: input.count ?? 1,
      skip: input.skip ?? 0,
      operation: input.operation,
      error: new ApiError(input.status, reason, message, undefined, input.retryAfterSeconds),
      delayMs: input.delayMs ?? 0,
    });
  }

  slowNext(input: { count?: number; operation?: string; delayMs: number; skip?: number }): void {
    this.slowRules.push({
      remaining: input.count ?? 1,
      skip: input.skip ?? 0,
      operation: input.operation,
      delayMs: input.delayMs,
    });
  }

  invalidateSyncTokens(calendarId: string): void {
    this.hooks.invalidateSyncTokens(calendarId);
  }

  dropNextPushes(count: number, channelId?: string): void {
    this.dropRules.push({ remaining: count, channelId });
  }

  duplicateNextPushes(count: number, copies: number): void {
    if (!Number.isInteger(copies) || copies < 1) throw new Error('copies must be a positive integer');
    this.duplicate = { remaining: count, copies };
  }

  delayPushes(ms: number): void {
    this.pushDelayMs = Math.max(0, ms);
  }

  holdPushes(): void {
    this.holding = true;
  }

  releasePushes(opts: { reverse?: boolean } = {}): Promise<void> {
    this.holding = false;
    return this.hooks.releasePushes(opts.reverse ?? false);
  }

  skipMessageNumbers(n: number): void {
    this.pendingSkip += Math.max(0, n);
  }

  syncBeforeWatchResponse(on: boolean): void {
    this.syncFirst = on;
  }

  /** Turns every switch off. Pushes already held are sent, so nothing stays queued without a way out. */
  clear(): void {
    this.failRules = [];
    this.slowRules = [];
    this.dropRules = [];
    this.duplicate = { remaining: 0, copies: 1 };
    this.pushDelayMs = 0;
    this.pendingSkip = 0;
    this.syncFirst = false;
    if (this.holding) void this.releasePushes();
  }

  /** Forgets every switch without sending anything (emulator reset/stop). */
  wipe(): void {
    this.holding = false;
    this.clear();
  }

  // ---- consumed by the emulator ------------------------------------------------------------------

  takeFailure(operation: string): { error: ApiError; delayMs: number } | undefined {
    const rule = take(this.failRules, (r) => r.operation === undefined || r.operation === operation);
    return rule && { error: rule.error, delayMs: rule.delayMs };
  }

  takeSlow(operation: string): number {
    return take(this.slowRules, (r) => r.operation === undefined || r.operation === operation)?.delayMs ?? 0;
  }

  takeDrop(channelId: string): boolean {
    return take(this.dropRules, (r) => r.channelId === undefined || r.channelId === channelId) !== undefined;
  }

  takeCopies(): number {
    if (this.duplicate.remaining <= 0) return 1;
    this.duplicate.remaining--;
    return this.duplicate.copies;
  }

  takeSkip(): number {
    const n = this.pendingSkip;
    this.pendingSkip = 0;
    return n;
  }
}

function take<T extends { remaining: number; skip?: number }>(rules: T[], match: (r: T) => boolean): T | undefined {
  const i = rules.findIndex(match);
  if (i < 0) return undefined;
  const rule = rules[i];
  if (rule.skip) {
    rule.skip--;
    return undefined;
  }
  if (--rule.remaining <= 0) rules.splice(i, 1);
  return rule;
}
