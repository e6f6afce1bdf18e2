/**
 * The service refuses to start for a reason an operator fixes in its configuration (a key list
 * that opens none of the stored credentials, an embedded database it cannot run). `main.ts` prints
 * only the message, without a stack trace, and exits 1.
 */
export class StartupRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StartupRefusedError';
  }
}
