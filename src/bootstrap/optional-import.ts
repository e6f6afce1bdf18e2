import { StartupRefusedError } from '../infrastructure/lifecycle/startup-refused.error.js';

/**
 * Loads a part that some builds leave out (the Docker image ships neither the emulators of the
 * sandbox nor the embedded database). When that part is missing, start-up stops with `remedy`
 * instead of a module-resolution stack trace; any other failure of the import is rethrown as is.
 */
export async function importOptional<T>(part: string, remedy: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException | null)?.code;
    // ERR_MODULE_NOT_FOUND from Node's ESM loader; MODULE_NOT_FOUND where a CommonJS resolver loads it.
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new StartupRefusedError(`${part} is not part of this build (the Docker image leaves it out): ${remedy}`);
    }
    throw error;
  }
}
