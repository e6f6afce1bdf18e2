import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { TlsMaterial } from './tls.js';

/**
 * The state file of a hand-run sandbox: the whole emulator state plus its TLS material (so a CA someone
 * already trusts, e.g. through NODE_EXTRA_CA_CERTS, survives restarts). Loaded once at start, saved a short
 * while after changes and on stop, always by writing a temporary file and renaming it over the old one, so
 * a crash mid-write never leaves a torn file.
 */

export const STATE_FORMAT = 'calsync-microsoft-graph-emulator';

export interface StateFileContent {
  format: typeof STATE_FORMAT;
  version: 1;
  savedAt: string;
  tls: TlsMaterial;
  state: unknown;
}

const DEBOUNCE_MS = 200;

export function loadStateFile(path: string): StateFileContent | undefined {
  if (!existsSync(path)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`Microsoft emulator state file ${path} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  const content = parsed as Partial<StateFileContent>;
  if (content?.format !== STATE_FORMAT || content.version !== 1) {
    throw new Error(
      `${path} is not a Microsoft emulator state file (format ${String(content?.format)}, version ${String(content?.version)})`,
    );
  }
  return content as StateFileContent;
}

export class StateSaver {
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private stopped = false;
  /** The last failed save, for a sandbox to report; saving goes on trying after changes. */
  lastError: Error | undefined;

  constructor(
    private readonly path: string,
    private readonly produce: () => StateFileContent,
  ) {
    mkdirSync(dirname(path), { recursive: true });
  }

  markDirty(): void {
    if (this.stopped || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.save();
    }, DEBOUNCE_MS);
    this.timer.unref();
  }

  /** Saves now (if anything changed since the last save is pending) and waits for the write. */
  async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
      await this.save();
    }
    await this.writing;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.save();
    this.stopped = true;
  }

  private save(): Promise<void> {
    // Writes are chained: a slow write is never overtaken by a later one renaming first.
    this.writing = this.writing.then(async () => {
      const tmp = `${this.path}.${process.pid}.tmp`;
      try {
        await writeFile(tmp, JSON.stringify(this.produce()), 'utf8');
        await rename(tmp, this.path);
        this.lastError = undefined;
      } catch (err) {
        this.lastError = err as Error;
      }
    });
    return this.writing;
  }
}
