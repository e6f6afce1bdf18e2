import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuthState } from './auth.js';
import type { FaultState } from './faults.js';
import { type Reply, parseQuery, readForm, writeReply } from './http-util.js';
import type { CallRecord } from './types.js';

/**
 * Google's OAuth endpoints: the token endpoint (PKCE checked as Google does, `scope` answered as
 * granted) and a consent screen that says yes unless a test chose otherwise (`nextConsent`).
 */

/** What the user does on the next consent screen; one authorize request consumes it. */
export interface ConsentChoice {
  /** Sign in as this account, whatever login_hint says (a forwarded link opened by someone else). */
  account?: string;
  /** Grant only these of the requested scopes: the user unticks the others (granular consent). */
  grantScopes?: string[];
  /** The user presses Cancel: the redirect carries `error=access_denied`. */
  deny?: boolean;
}

export interface OAuthContext {
  readonly auth: AuthState;
  readonly faults: FaultState;
  recordCall(call: CallRecord): void;
  sleep(ms: number): Promise<void>;
  /** Creates an account with its primary calendar. */
  createAccount(email: string): void;
  /** The consent choice a test queued (`nextConsent`), taken once. */
  takeConsent(): ConsentChoice | undefined;
}

export async function handleToken(ctx: OAuthContext, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const call: CallRecord = {
    at: Date.now(),
    method: req.method ?? 'POST',
    path: url.pathname,
    query: parseQuery(url.searchParams),
    status: 0,
    operation: 'token',
  };
  let reply: Reply;
  if (req.method !== 'POST') {
    reply = { status: 405, body: { error: 'invalid_request', error_description: 'Use POST.' } };
  } else {
    const form = await readForm(req);
    const delay = ctx.faults.takeSlow('token');
    const failure = ctx.faults.takeFailure('token');
    const wait = delay + (failure?.delayMs ?? 0);
    if (wait > 0) await ctx.sleep(wait);
    if (failure) {
      // The token endpoint speaks OAuth errors, not the API's error envelope.
      const headers: Record<string, string> = {};
      if (failure.error.retryAfterSeconds !== undefined) headers['Retry-After'] = String(failure.error.retryAfterSeconds);
      reply = {
        status: failure.error.status,
        body: { error: failure.error.reason, error_description: failure.error.message },
        headers,
      };
    } else {
      const result = ctx.auth.exchange(form);
      reply = result.ok ? { status: 200, body: result.body } : { status: result.status, body: result.body };
    }
  }
  reply.headers = { ...reply.headers, 'Cache-Control': 'no-cache, no-store, max-age=0, must-revalidate', Pragma: 'no-cache' };
  call.status = reply.status;
  ctx.recordCall(call);
  writeReply(res, reply);
}

/**
 * Consent is automatic. The code belongs to the account named by login_hint (created on the fly when it
 * is an email the emulator does not know yet, so a hand-run sandbox needs no set-up), else the first account.
 */
export function handleAuthorize(ctx: OAuthContext, res: ServerResponse, url: URL): void {
  const q = url.searchParams;
  const redirectUri = q.get('redirect_uri');
  const fail = (error: string, description: string): void =>
    writeReply(res, { status: 400, body: { error, error_description: description } });
  if (!redirectUri) return fail('invalid_request', 'Missing required parameter: redirect_uri');
  let target: URL;
  try {
    target = new URL(redirectUri);
  } catch {
    return fail('invalid_request', 'Invalid parameter value for redirect_uri');
  }
  const responseType = q.get('response_type') ?? 'code';
  if (responseType !== 'code') return fail('unsupported_response_type', `Unsupported response_type: ${responseType}`);
  const challenge = q.get('code_challenge') ?? undefined;
  const challengeMethod = q.get('code_challenge_method') ?? undefined;
  if (challengeMethod !== undefined && !['S256', 'plain'].includes(challengeMethod)) {
    return fail('invalid_request', `Invalid code_challenge_method: ${challengeMethod}`);
  }
  if (challengeMethod !== undefined && !challenge) return fail('invalid_request', 'Missing code_challenge.');
  const consent = ctx.takeConsent();
  const state = q.get('state');
  if (consent?.deny) {
    target.searchParams.set('error', 'access_denied');
    if (state !== null) target.searchParams.set('state', state);
    return writeReply(res, { status: 302, headers: { Location: target.toString() } });
  }
  const hint = consent?.account ?? q.get('login_hint') ?? undefined;
  let email: string | undefined;
  if (hint && ctx.auth.accounts.has(hint)) email = hint;
  else if (hint && /^[^@\s]+@[^@\s]+$/.test(hint)) email = hint;
  else email = ctx.auth.accounts.keys().next().value;
  if (!email) return fail('access_denied', 'The emulator has no account to sign in with; add one first.');
  if (!ctx.auth.accounts.has(email)) ctx.createAccount(email);
  const requested = q.get('scope') || undefined;
  // Granular consent: the user may untick scopes; the code (and the token answer) carry what was granted.
  const scope =
    requested && consent?.grantScopes
      ? requested
          .split(/\s+/)
          .filter((s) => consent.grantScopes?.includes(s))
          .join(' ')
      : requested;
  target.searchParams.set('code', ctx.auth.createCode(email, scope, redirectUri, { challenge, challengeMethod }));
  if (state !== null) target.searchParams.set('state', state);
  if (scope) target.searchParams.set('scope', scope);
  writeReply(res, { status: 302, headers: { Location: target.toString() } });
}
