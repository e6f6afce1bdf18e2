import { type BeforeApplicationShutdown, Injectable } from '@nestjs/common';

/**
 * Whether this instance is on its way out. Readiness answers 503 from the first moment, so a load
 * balancer stops sending work while in-flight requests and jobs finish. `main.ts` drains on a
 * signal before closing the application; closing it any other way drains too (Nest calls
 * `beforeApplicationShutdown` before the HTTP server stops accepting).
 */
@Injectable()
export class ShutdownState implements BeforeApplicationShutdown {
  private drainingSince: number | null = null;

  get draining(): boolean {
    return this.drainingSince !== null;
  }

  drain(): void {
    this.drainingSince ??= Date.now();
  }

  beforeApplicationShutdown(): void {
    this.drain();
  }
}
