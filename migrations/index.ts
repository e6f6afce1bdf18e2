import { InitialSchema1763800000000 } from './1763800000000-InitialSchema.js';

/** Every migration, in order. The app and the TypeORM CLI both read this list. */
export const MIGRATIONS = [InitialSchema1763800000000];
