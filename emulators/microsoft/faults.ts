import { type DeltaExpiry, GraphApiError } from './errors.js';

/** Switches tests flip to make the emulator misbehave the way Graph does now and then. */
export interface MicrosoftFaults {
  /**
   * The next `count` (default 1) calls of `operation` (default: any) answer this error instead. Default codes:
   * 429 ApplicationThrottled, 503 serviceNotAvailable, 500 generalException, 410 syncStateNotFound, 412
   * ErrorIrresolvableConflict, 401 InvalidAuthenticationToken, 403 ErrorAccessDenied, 404 ErrorItemNotFound,
   * 400 BadRequest (pass code 'resyncRequired' for that one). On `token` the body is an OAuth error.
   * With `afterEffect` the call is carried out first and only its answer is the error: a gateway's
   * 5xx after Graph did the work (not on `token`). With `skip`, that many matching calls go through first.
   */
  failNext(input: {
    operation?: string;
    skip?: number;
    status: number;
    code?: string;
    message?: string;
    retryAfterSeconds?: number;
    count?: number;
    afterEffect?: boolean;
  }): void;
  /** The next `count` calls of `operation` (default: any) answer `ms` later. */
  slowNext(input: { operation?: string; ms: number; count?: number }): void;
  /** Delta and skip tokens issued so far (for one calendar, or all) answer 410 syncStateNotFound, or 400 resyncRequired. */
  invalidateDeltaTokens(calendarId?: string, as?: DeltaExpiry): void;
  /** The next `n` notification items (of one subscription, or any) are never sent. */
  dropNextNotifications(n: number, subscriptionId?: string): void;
  /** The next `n` notification items are each sent `copies` times. */
  duplicateNextNotifications(n: number, copies: number): void;
  /** Notification items wait `ms` before they are batched and sent (0 turns it off). */
  delayNotifications(ms: number): void;
  /** Queues notification items until releaseNotifications. */
  holdNotifications(): void;
  /** Sends the held items one POST each, in order or reversed; resolves once all were answered. */
  releaseNotifications(reverse?: boolean): Promise<void>;
  /** Delta pages come shuffled, each with one of its entities repeated. */
  shuffleDelta(on: boolean): void;
  /**
   * Delta rounds report no change of an event that is outside the round's window now, not even as
   * `@removed` (the emulator otherwise reports one it may have shown before, as Graph may).
   */
  hideChangesOutsideWindow(on: boolean): void;
  /**
   * A create repeating a transactionId answers the event that transactionId made as it is now,
   * whatever the repeat holds (Graph's documentation does not say whether it compares the repeat
   * with the event, as the emulator does by default: 400 ErrorDuplicateTransactionId when they differ).
   */
  replayTransactionsAsTheyAre(on: boolean): void;
  /**
   * A deleted event keeps its transactionId: a create repeating it is refused (400
   * ErrorDuplicateTransactionId) while a `$filter` on it finds nothing (by default the emulator
   * frees the id with the event; which Graph does is not documented).
   */
  keepDeletedTransactionIds(on: boolean): void;
  /** Authorizations from now on grant only these scopes (plus openid/profile/email/offline_access); none: all asked. */
  limitGrantedScopes(scopes?: string[]): void;
  /** Turns every switch off; held notifications are sent. */
  clear(): void;
}

interface FailRule {
  remaining: number;
  /** Matching calls still to let through before the rule applies. */
  skip: number;
  operation?: string;
  error: GraphApiError;
  afterEffect: boolean;
}

interface SlowRule {
  remaining: number;
  operation?: string;
  ms: number;
}

interface DropRule {
  remaining: number;
  subscriptionId?: string;
}

const DEFAULT_CODES: Record<number, [string, string]> = {
  400: ['BadRequest', 'Bad request.'],
  401: ['InvalidAuthenticationToken', 'Access token has expired or is not yet valid.'],
  403: ['ErrorAccessDenied', 'Access is denied. Check credentials and try again.'],
  404: ['ErrorItemNotFound', 'The specified object was not found in the store.'],
  409: ['ErrorIrresolvableConflict', 'The item was changed by someone else.'],
  410: ['syncStateNotFound', 'The sync state generation is not found; start a new delta round.'],
  412: [
    'ErrorIrresolvableConflict',
    'The send or update operation could not be performed because the change key passed in the request does not match the current change key for the item.',
  ],
  429: ['ApplicationThrottled', 'Application is over its MailboxConcurrency limit.'],
  500: ['generalException', 'An unspecified error has occurred.'],
  502: ['generalException', 'Bad gateway.'],
  503: ['serviceNotAvailable', 'The service is temporarily unavailable. Try again later.'],
  504: ['generalException', 'The request timed out.'],
};

export interface FaultHooks {
  invalidateDeltaTokens(calendarId: string | undefined, as: DeltaExpiry): void;
  releaseNotifications(reverse: boolean): Promise<void>;
}

export class FaultState implements MicrosoftFaults {
  private failRules: FailRule[] = [];
  private slowRules: SlowRule[] = [];
  private dropRules: DropRule[] = [];
  private duplicate = { remaining: 0, copies: 1 };
  notificationDelayMs = 0;
  holding = false;
  shuffling = false;
  changesOutsideWindowHidden = false;
  transactionsReplayedAsTheyAre = false;
  deletedTransactionIdsKept = false;
  grantedScopes: string[] | undefined;

  constructor(private readonly hooks: FaultHooks) {}

  failNext(input: Parameters<MicrosoftFaults['failNext']>[0]): void {
    if (!Number.isInteger(input.status) || input.status < 400 || input.status > 599) {
      throw new Error(`failNext needs an error status (4xx/5xx), got ${input.status}`);
    }
    const [code, message] = DEFAULT_CODES[input.status] ?? ['generalException', 'An unspecified error has occurred.'];
    this.failRules.push({
      remaining: input.count ?? 1,
      skip: Math.max(0, input.skip ?? 0),
      operation: input.operation,
      error: new GraphApiError(input.status, input.code ?? code, input.message ?? message, input.retryAfterSeconds),
      afterEffect: input.afterEffect ?? false,
    });
  }

  slowNext(input: { operation?: string; ms: number; count?: number }): void {
    this.slowRules.push({ remaining: input.count ?? 1, operation: input.operation, ms: Math.max(0, input.ms) });
  }

  invalidateDeltaTokens(calendarId?: string, as: DeltaExpiry = 'syncStateNotFound'): void {
    if (as !== 'syncStateNotFound' && as !== 'resyncRequired')
      throw new Error(`invalidateDeltaTokens: unknown answer ${String(as)}`);
    this.hooks.invalidateDeltaTokens(calendarId, as);
  }

  dropNextNotifications(n: number, subscriptionId?: string): void {
    this.dropRules.push({ remaining: n, subscriptionId });
  }

  duplicateNextNotifications(n: number, copies: number): void {
    if (!Number.isInteger(copies) || copies < 1) throw new Error('copies must be a positive integer');
    this.duplicate = { remaining: n, copies };
  }

  delayNotifications(ms: number): void {
    this.notificationDelayMs = Math.max(0, ms);
  }

  holdNotifications(): void {
    this.holding = true;
  }

  releaseNotifications(reverse = false): Promise<void> {
    this.holding = false;
    return this.hooks.releaseNotifications(reverse);
  }

  hideChangesOutsideWindow(on: boolean): void {
    this.changesOutsideWindowHidden = on;
  }

  shuffleDelta(on: boolean): void {
    this.shuffling = on;
  }

  replayTransactionsAsTheyAre(on: boolean): void {
    this.transactionsReplayedAsTheyAre = on;
  }

  keepDeletedTransactionIds(on: boolean): void {
    this.deletedTransactionIdsKept = on;
  }

  limitGrantedScopes(scopes?: string[]): void {
    this.grantedScopes = scopes === undefined ? undefined : [...scopes];
  }

  /** Turns every switch off. Held notifications are sent, so nothing stays queued without a way out. */
  clear(): void {
    this.failRules = [];
    this.slowRules = [];
    this.dropRules = [];
    this.duplicate = { remaining: 0, copies: 1 };
    this.notificationDelayMs = 0;
    this.shuffling = false;
    this.changesOutsideWindowHidden = false;
    this.transactionsReplayedAsTheyAre = false;
    this.deletedTransactionIdsKept = false;
    this.grantedScopes = undefined;
    if (this.holding) void this.releaseNotifications();
  }

  /** Forgets every switch without sending anything (emulator reset/stop). */
  wipe(): void {
    this.holding = false;
    this.clear();
  }

  // ---- consumed by the emulator ------------------------------------------------------------------

  takeFailure(operation: string): { error: GraphApiError; afterEffect: boolean } | undefined {
    return take(this.failRules, (r) => {
      if (r.operation !== undefined && r.operation !== operation) return false;
      if (r.skip === 0) return true;
      r.skip -= 1;
      return false;
    });
  }

  takeSlow(operation: string): number {
    return take(this.slowRules, (r) => r.operation === undefined || r.operation === operation)?.ms ?? 0;
  }

  takeDrop(subscriptionId: string): boolean {
    return take(this.dropRules, (r) => r.subscriptionId === undefined || r.subscriptionId === subscriptionId) !== undefined;
  }

  takeCopies(): number {
    if (this.duplicate.remaining <= 0) return 1;
    this.duplicate.remaining--;
    return this.duplicate.copies;
  }
}

function take<T extends { remaining: number }>(rules: T[], match: (r: T) => boolean): T | undefined {
  const i = rules.findIndex(match);
  if (i < 0) return undefined;
  const rule = rules[i];
  if (--rule.remaining <= 0) rules.splice(i, 1);
  return rule;
}
