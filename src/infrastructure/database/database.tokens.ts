/** The resolved connection string (embedded or given), for components that open their own pool. */
export const DATABASE_URL = Symbol('DATABASE_URL');
