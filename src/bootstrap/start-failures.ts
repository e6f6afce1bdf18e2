import { StartupRefusedError } from '../infrastructure/lifecycle/startup-refused.error.js';
import { quotableUrl } from '../config/load-config.js';
import { DATABASE_FAILURE } from '../infrastructure/database/database.module.js';

type SystemError = Error & { code?: unknown; syscall?: unknown; hostname?: unknown };

// Not `instanceof Error`: errors from another realm (a VM context, a worker) are errors too.
const codeOf = (error: unknown): string | null =>
  typeof error === 'object' && error !== null && typeof (error as SystemError).code === 'string'
    ? ((error as SystemError).code as string)
    : null;

/**
 * A failed `listen` as the operator's to fix: which setting, and what to do. Null for anything else.
 */
export function listenRefusal(error: unknown, port: number, host: string): StartupRefusedError | null {
  switch (codeOf(error)) {
    case 'EADDRINUSE':
      return new StartupRefusedError(
        `PORT ${port} is already in use on ${host}: stop what listens there (calsync already running?) or set PORT to a free port`,
      );
    case 'EACCES':
      return new StartupRefusedError(`PORT ${port} needs privileges this process does not have: set PORT to 1024 or above`);
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new StartupRefusedError(
        `HOST ${host} is not an address of this machine (${codeOf(error)}): set HOST to one of its addresses, or 0.0.0.0 for all`,
      );
    default:
      return null;
  }
}

/** PostgreSQL's SQLSTATEs and the network codes that mean "the database in DATABASE_URL cannot be used". */
const DATABASE_FAILURES: Record<string, string> = {
  ECONNREFUSED: 'nothing accepts connections there',
  ENOTFOUND: 'its host name does not resolve',
  EAI_AGAIN: 'its host name does not resolve',
  ETIMEDOUT: 'the connection timed out',
  EHOSTUNREACH: 'its host cannot be reached',
  '3D000': 'that database does not exist',
  '28P01': 'the password is not accepted',
  '28000': 'the server does not accept this user or client',
  '42501': 'the user lacks a privilege calsync needs',
};

/**
 * A database calsync could not connect to or use at start (after TypeORM's retries), named by its
 * URL without the password. Null for anything else.
 */
export function databaseRefusal(error: unknown, databaseUrl: string, embedded = false): StartupRefusedError | null {
  // Only what connecting to or migrating the database threw: an ECONNREFUSED of anything else is not its.
  if (!(error as Record<symbol, unknown> | null)?.[DATABASE_FAILURE]) return null;
  const code = codeOf(error);
  const why = code ? DATABASE_FAILURES[code] : undefined;
  if (!why) return null;
  const where = embedded
    ? `the embedded PostgreSQL (${quotableUrl(databaseUrl)})`
    : `the database at DATABASE_URL (${quotableUrl(databaseUrl)})`;
  return new StartupRefusedError(`cannot use ${where}: ${why} (${(error as Error).message})`);
}

/**
 * Another failure with a system error's code and syscall (a file where a directory is needed, a
 * permission): its message names the path and is the whole story, so no stack trace. Null otherwise.
 */
export function systemRefusal(error: unknown): StartupRefusedError | null {
  if (!codeOf(error) || typeof (error as SystemError).syscall !== 'string') return null;
  return new StartupRefusedError((error as Error).message);
}
