/** Graph-shaped API errors, thrown inside handlers and turned into responses in one place. */

/** The code Exchange answers for malformed event bodies; clients branch on status more than on this one. */
export const INVALID_REQUEST = 'ErrorInvalidRequest';

export class GraphApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly retryAfterSeconds?: number,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  body(requestId: string, clientRequestId: string): object {
    return {
      error: {
        code: this.code,
        message: this.message,
        innerError: {
          date: new Date().toISOString().slice(0, 19),
          'request-id': requestId,
          'client-request-id': clientRequestId,
        },
      },
    };
  }
}

/** Errors of the programmatic/control API (a test misused the emulator), not Graph errors. */
export class EmulatorError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export const badRequest = (message: string, code = INVALID_REQUEST): GraphApiError => new GraphApiError(400, code, message);

export const itemNotFound = (): GraphApiError =>
  new GraphApiError(404, 'ErrorItemNotFound', 'The specified object was not found in the store.');

export const accessDenied = (): GraphApiError =>
  new GraphApiError(403, 'ErrorAccessDenied', 'Access is denied. Check credentials and try again.');

export const unauthenticated = (message: string): GraphApiError =>
  new GraphApiError(401, 'InvalidAuthenticationToken', message, undefined, {
    'WWW-Authenticate':
      'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"',
  });

export const irresolvableConflict = (): GraphApiError =>
  new GraphApiError(
    412,
    'ErrorIrresolvableConflict',
    'The send or update operation could not be performed because the change key passed in the request does not match the current change key for the item.',
  );

export type DeltaExpiry = 'syncStateNotFound' | 'resyncRequired';

/** An expired or invalidated delta/skip token: 410 syncStateNotFound, or 400 resyncRequired when a test asks. */
export function deltaExpired(kind: DeltaExpiry): GraphApiError {
  return kind === 'resyncRequired'
    ? new GraphApiError(400, 'resyncRequired', 'The delta token is no longer valid; the app must reset the sync state.')
    : new GraphApiError(410, 'syncStateNotFound', 'The sync state generation is not found; start a new delta round.');
}
