import type { IncomingMessage, ServerResponse } from 'node:http';
import { aadError, type AuthState } from './auth.js';
import type { FaultState } from './faults.js';
import { parseQuery, type Reply, readForm, writeReply } from './http-util.js';
import { newGuid } from './ids.js';
import type { CallRecord } from './types.js';

/**
 * The Microsoft identity platform's v2.0 endpoints under any tenant segment (common, organizations,
 * consumers, a tenant id): the token endpoint (PKCE checked, `scope` answered as granted), and an
 * authorize "consent screen" that says yes unless a test chose otherwise (`nextConsent`).
 */

/** What the user does on the next consent screen; one authorize request consumes it. */
export interface ConsentChoice {
  /** Sign in as this account, whatever login_hint says (a forwarded link opened by someone else). */
  account?: string;
  /** Grant only these of the requested scopes (openid, profile, email, offline_access always stay). */
  grantScopes?: string[];
  /** The user cancels: the redirect carries `error=access_denied`. */
  deny?: boolean;
}

export interface OAuthContext {
  readonly auth: AuthState;
  readonly faults: FaultState;
  recordCall(call: CallRecord): void;
  sleep(ms: number): Promise<void>;
  /** Creates an account with its default calendar. */
  createAccount(email: string): void;
  /** The consent choice a test queued (`nextConsent`), taken once. */
  takeConsent(): ConsentChoice | undefined;
}

const OAUTH_PATH = /^\/[^/]+\/oauth2\/v2\.0\/(token|authorize)$/;

export function oauthEndpoint(pathname: string): 'token' | 'authorize' | undefined {
  const m = OAUTH_PATH.exec(pathname);
  return m ? (m[1] as 'token' | 'authorize') : undefined;
}

/** A token endpoint failure from failNext speaks OAuth, not Graph's error envelope. */
const FAULT_ERRORS: Record<number, [string, number]> = {
  400: ['invalid_grant', 70000],
  401: ['invalid_client', 7000215],
  429: ['temporarily_unavailable', 50196],
};

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
    const err = aadError(405, 'invalid_request', 900561, 'The endpoint only accepts POST requests.');
    reply = { status: err.status, body: err.body };
  } else {
    const form = await readForm(req);
    const delay = ctx.faults.takeSlow('token');
    if (delay > 0) await ctx.sleep(delay);
    const failure = ctx.faults.takeFailure('token')?.error;
    if (failure) {
      const [error, code] = FAULT_ERRORS[failure.status] ?? ['temporarily_unavailable', 90033];
      const err = aadError(failure.status, failure.code.includes('_') ? failure.code : error, code, failure.message);
      reply = { status: err.status, body: err.body };
      if (failure.retryAfterSeconds !== undefined) reply.headers = { 'Retry-After': String(failure.retryAfterSeconds) };
    } else {
      const result = ctx.auth.exchange(form);
      reply = { status: result.ok ? 200 : result.status, body: result.body };
    }
  }
  reply.headers = { ...reply.headers, 'Cache-Control': 'no-store, no-cache', Pragma: 'no-cache' };
  call.status = reply.status;
  ctx.recordCall(call);
  writeReply(res, reply);
}

/**
 * Consent is automatic. The code belongs to the account named by login_hint (created on the fly when it is
 * an email the emulator does not know yet, so a hand-run sandbox needs no set-up), else the first account.
 */
export function handleAuthorize(ctx: OAuthContext, req: IncomingMessage, res: ServerResponse, url: URL): void {
  const q = url.searchParams;
  const call: CallRecord = {
    at: Date.now(),
    method: req.method ?? 'GET',
    path: url.pathname,
    query: parseQuery(q),
    status: 0,
    operation: 'authorize',
  };
  const finish = (reply: Reply): void => {
    call.status = reply.status;
    ctx.recordCall(call);
    writeReply(res, reply);
  };
  const fail = (code: number, error: string, text: string): void => {
    const err = aadError(400, error, code, text);
    finish({ status: 400, body: err.body });
  };
  const clientId = q.get('client_id');
  if (!clientId) return fail(900144, 'invalid_request', "The request body must contain the following parameter: 'client_id'.");
  const redirectUri = q.get('redirect_uri');
  if (!redirectUri)
    return fail(900144, 'invalid_request', "The request body must contain the following parameter: 'redirect_uri'.");
  let target: URL;
  try {
    target = new URL(redirectUri);
  } catch {
    return fail(50011, 'invalid_request', `The redirect URI '${redirectUri}' is not a valid URL.`);
  }
  const responseType = q.get('response_type') ?? 'code';
  if (responseType !== 'code')
    return fail(
      900144,
      'unsupported_response_type',
      `The emulator only does the authorization code flow (got response_type=${responseType}).`,
    );
  const challenge = q.get('code_challenge') ?? undefined;
  const challengeMethod = q.get('code_challenge_method') ?? undefined;
  if (challengeMethod !== undefined && !['S256', 'plain'].includes(challengeMethod)) {
    return fail(501491, 'invalid_request', `Invalid code_challenge_method: ${challengeMethod}`);
  }
  const consent = ctx.takeConsent();
  if (consent?.deny) {
    const denied: Record<string, string> = {
      error: 'access_denied',
      error_description: 'AADSTS65004: User declined to consent to access the app.',
    };
    const state = q.get('state');
    if (state !== null) denied.state = state;
    for (const [k, v] of Object.entries(denied)) target.searchParams.set(k, v);
    return finish({ status: 302, headers: { Location: target.toString() } });
  }
  const hint = consent?.account ?? q.get('login_hint') ?? undefined;
  let email: string | undefined;
  if (hint && /^[^@\s]+@[^@\s]+$/.test(hint)) email = ctx.auth.account(hint)?.email ?? hint;
  else email = ctx.auth.accounts.values().next().value?.email;
  if (!email) return fail(50058, 'login_required', 'The emulator has no account to sign in with; add one, or pass login_hint.');
  if (!ctx.auth.account(email)) ctx.createAccount(email);
  call.email = email;
  const code = ctx.auth.createCode({
    email,
    scope: q.get('scope') ?? undefined,
    limit: consent?.grantScopes ?? ctx.faults.grantedScopes,
    clientId,
    redirectUri,
    challenge,
    challengeMethod,
  });
  const params: Record<string, string> = { code };
  const state = q.get('state');
  if (state !== null) params.state = state;
  params.session_state = newGuid();
  const mode = q.get('response_mode') ?? 'query';
  if (mode === 'form_post') {
    const inputs = Object.entries(params)
      .map(([k, v]) => `<input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(v)}">`)
      .join('');
    const html = `<html><body onload="document.forms[0].submit()"><form method="POST" action="${escapeHtml(redirectUri)}">${inputs}</form></body></html>`;
    return finish({ status: 200, body: html, headers: { 'Content-Type': 'text/html; charset=utf-8' } });
  }
  if (mode === 'fragment') target.hash = new URLSearchParams(params).toString();
  else for (const [k, v] of Object.entries(params)) target.searchParams.set(k, v);
  finish({ status: 302, headers: { Location: target.toString() } });
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
