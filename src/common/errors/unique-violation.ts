import { QueryFailedError } from 'typeorm';
import type { DomainError } from './domain-error.js';

const UNIQUE_VIOLATION = '23505';

/** The constraint a PostgreSQL unique violation names, or null when `error` is anything else. */
export function violatedUniqueConstraint(error: unknown): string | null {
  if (!(error instanceof QueryFailedError)) return null;
  const { code, constraint } = error.driverError as { code?: string; constraint?: string };
  return code === UNIQUE_VIOLATION ? (constraint ?? null) : null;
}

/**
 * Runs `write`; a unique violation of one of the `known` constraints (a caller racing another for
 * the same identity) becomes the domain error that constraint stands for. Everything else passes
 * through unchanged: a unique violation nobody declared is a bug, which the HTTP filter answers
 * with a 500 and logs.
 */
export async function onUniqueViolation<T>(
  known: Readonly<Record<string, () => DomainError>>,
  write: () => Promise<T>,
): Promise<T> {
  try {
    return await write();
  } catch (error) {
    const constraint = violatedUniqueConstraint(error);
    if (constraint !== null && Object.hasOwn(known, constraint)) throw known[constraint]();
    throw error;
  }
}
